//! One resident's chart: identity first (S1), the scan field, today's doses, when-required
//! medicines, homely remedies, the last day's records, and the panel that records a dose.

use crate::ipc::call;
use crate::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medround_domain::barcode::Scan;
use medround_domain::finding::{Finding, FindingCode, Severity};
use medround_domain::outcome::OutcomeCode;
use medround_domain::qty::Qty;
use medround_domain::record::Subject;
use medround_domain::rules::{DoseAttempt, PresenceChange};
use medround_domain::schedule::{local_to_utc, HOME_TZ};
use medround_domain::{OrderId, RemedyId};
use medround_ipc::*;

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Slot,
    Prn,
    Homely,
}

/// The dose being recorded and everything typed so far.
#[derive(Debug, Clone, Copy)]
struct Panel {
    row: RwSignal<Option<(DoseRow, Kind)>>,
    outcome: RwSignal<Option<OutcomeCode>>,
    qty: RwSignal<Option<f64>>,
    note: RwSignal<String>,
    late_reason: RwSignal<String>,
    prn_reason: RwSignal<String>,
    site: RwSignal<String>,
    covert: RwSignal<bool>,
    tapped: RwSignal<bool>,
    witness: RwSignal<String>,
    witness_pin: RwSignal<String>,
    /// "HH:MM" when the dose happened earlier than now (S10), and why it was not recorded then.
    earlier: RwSignal<String>,
    retro_reason: RwSignal<String>,
    acks: RwSignal<Vec<FindingCode>>,
    findings: RwSignal<Vec<Finding>>,
    busy: RwSignal<bool>,
}

impl Panel {
    fn new() -> Self {
        Panel {
            row: RwSignal::new(None),
            outcome: RwSignal::new(None),
            qty: RwSignal::new(None),
            note: RwSignal::new(String::new()),
            late_reason: RwSignal::new(String::new()),
            prn_reason: RwSignal::new(String::new()),
            site: RwSignal::new(String::new()),
            covert: RwSignal::new(false),
            tapped: RwSignal::new(false),
            witness: RwSignal::new(String::new()),
            witness_pin: RwSignal::new(String::new()),
            earlier: RwSignal::new(String::new()),
            retro_reason: RwSignal::new(String::new()),
            acks: RwSignal::new(vec![]),
            findings: RwSignal::new(vec![]),
            busy: RwSignal::new(false),
        }
    }

    fn open(&self, row: DoseRow, kind: Kind) {
        self.qty.set(if row.variable {
            None
        } else {
            Some(row.max_qty.as_f64())
        });
        self.outcome.set(None);
        for s in [
            self.note,
            self.late_reason,
            self.prn_reason,
            self.site,
            self.witness,
            self.witness_pin,
        ] {
            s.set(String::new());
        }
        self.covert.set(false);
        self.tapped.set(false);
        self.acks.set(vec![]);
        self.findings.set(vec![]);
        self.row.set(Some((row, kind)));
    }

    fn attempt(&self, scans: &[Scan]) -> Option<DoseAttempt> {
        let (row, kind) = self.row.get_untracked()?;
        let subject = match kind {
            Kind::Slot => Subject::Slot {
                order: OrderId::new(&row.order),
                at: row.slot.parse().ok()?,
            },
            Kind::Prn => Subject::Prn {
                order: OrderId::new(&row.order),
            },
            Kind::Homely => Subject::Homely {
                remedy: RemedyId::new(&row.order),
            },
        };
        let text = |s: RwSignal<String>| Some(s.get_untracked()).filter(|t| !t.trim().is_empty());
        let mut a = DoseAttempt::new(subject, self.outcome.get_untracked()?);
        a.quantity = self.qty.get_untracked().map(Qty::from_f64);
        a.note = text(self.note);
        a.late_reason = text(self.late_reason);
        a.prn_reason = text(self.prn_reason);
        a.site = text(self.site);
        a.covert = self.covert.get_untracked();
        a.product_tapped = self.tapped.get_untracked();
        // Only scans of this order's product or label go with the record.
        a.scans = scans.to_vec();
        a.acknowledged = self.acks.get_untracked();
        // A time typed for a scheduled dose is on the slot's own day, in the home's time.
        if let (Some(t), Ok(slot)) = (
            text(self.earlier)
                .and_then(|t| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").ok()),
            row.slot.parse::<chrono::DateTime<chrono::Utc>>(),
        ) {
            let day = slot.with_timezone(&HOME_TZ).date_naive();
            a.occurred_at = Some(local_to_utc(HOME_TZ, day.and_time(t)));
            a.retrospective_reason = text(self.retro_reason);
        }
        Some(a)
    }
}

#[component]
pub fn ResidentScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    let panel = Panel::new();
    let scan_text = RwSignal::new(String::new());
    let scans = RwSignal::new(Vec::<(Option<String>, Scan)>::new());
    let scan_msg = RwSignal::new(None::<(bool, String)>);
    let correcting = RwSignal::new(None::<RecordRow>);
    let correction_reason = RwSignal::new(String::new());
    let patch_site = RwSignal::new(String::new());
    // The witness of a correction or a patch's removal, for a controlled drug (S7).
    let second_who = RwSignal::new(String::new());
    let second_pin = RwSignal::new(String::new());

    let rid = move || {
        app.resident
            .get_untracked()
            .map(|r| r.id)
            .unwrap_or_default()
    };
    let reload = move || {
        let id = rid();
        app.open_resident(id);
    };
    // S15: a senior records that the resident has gone or is back, after confirming.
    let presence = RwSignal::new(None::<PresenceChange>);
    let set_presence = move |change: PresenceChange| {
        let resident = rid();
        spawn_local(async move {
            let res = call(&SetPresence { resident, change }).await;
            presence.set(None);
            match res {
                Ok(d) => {
                    app.say(true, d.message);
                    reload();
                }
                Err(e) => app.fail(e),
            }
        });
    };

    let do_scan = move || {
        let raw = scan_text.get_untracked();
        if raw.trim().is_empty() {
            return;
        }
        scan_text.set(String::new());
        let resident = rid();
        spawn_local(async move {
            match call(&ScanCode { resident, raw }).await {
                Ok(v) => {
                    scan_msg.set(Some((v.ok, v.message.clone())));
                    // A mismatch is kept too: the rules must see it and refuse (S1, S2).
                    scans.update(|s| s.push((v.order.clone(), v.scan.clone())));
                    if let (true, Some(order)) = (v.ok, v.order.clone()) {
                        if let Some(r) = app.resident.get_untracked() {
                            let pick = r
                                .doses
                                .iter()
                                .find(|d| {
                                    d.order == order
                                        && matches!(d.state, DoseState::Due | DoseState::Late)
                                        && d.unavailable.is_none()
                                })
                                .cloned()
                                .map(|d| (d, Kind::Slot))
                                .or_else(|| {
                                    r.prn
                                        .iter()
                                        .find(|d| d.order == order && d.unavailable.is_none())
                                        .cloned()
                                        .map(|d| (d, Kind::Prn))
                                });
                            if let Some((row, kind)) = pick {
                                if panel
                                    .row
                                    .get_untracked()
                                    .map(|(r, _)| r.order != row.order)
                                    .unwrap_or(true)
                                {
                                    panel.open(row, kind);
                                }
                            }
                        }
                    }
                }
                Err(e) => scan_msg.set(Some((false, e.message))),
            }
        });
    };

    let submit = move || {
        let scans_for: Vec<Scan> = {
            let order = panel
                .row
                .get_untracked()
                .map(|(r, _)| r.order)
                .unwrap_or_default();
            scans
                .get_untracked()
                .into_iter()
                .filter(|(o, _)| o.as_deref() == Some(order.as_str()) || o.is_none())
                .map(|(_, s)| s)
                .collect()
        };
        let Some(attempt) = panel.attempt(&scans_for) else {
            panel.findings.set(vec![]);
            app.say(false, "Choose what happened first.");
            return;
        };
        let controlled = panel
            .row
            .get_untracked()
            .map(|(r, _)| r.controlled.is_some())
            .unwrap_or(false);
        let witness = (controlled
            && (attempt.outcome.is_taken() || attempt.outcome == OutcomeCode::Destroyed))
            .then(|| WitnessPin {
                staff_id: panel.witness.get_untracked(),
                pin: panel.witness_pin.get_untracked(),
            })
            .filter(|w| !w.staff_id.is_empty());
        let resident = rid();
        panel.busy.set(true);
        spawn_local(async move {
            let res = call(&RecordDose {
                resident,
                attempt,
                witness,
            })
            .await;
            panel.busy.set(false);
            panel.witness_pin.set(String::new());
            match res {
                Ok(done) => {
                    panel.row.set(None);
                    scans.set(vec![]);
                    scan_msg.set(None);
                    app.say(true, done.message);
                    reload();
                }
                Err(e) if e.code == ErrorCode::Blocked => {
                    panel.findings.set(e.findings.clone());
                }
                Err(e) => app.fail(e),
            }
        });
    };

    view! {
        <main class="resident" data-test="resident-screen" data-resident=move || app.resident.get().map(|r| r.id).unwrap_or_default()>
            {move || app.resident.get().map(|r| {
                let allergies = r.allergies.clone();
                view! {
                    <header class="identity" aria-label="Resident">
                        <button class="secondary back" data-test="back" on:click=move |_| app.back_to_round()>"< Round"</button>
                        <img class="photo big" src=r.photo.clone().unwrap_or_default() alt=format!("Photo of {}", r.name)/>
                        <div class="id-text">
                            <h1 data-test="resident-name">{r.name.clone()}{r.preferred_name.clone().map(|p| view! { <span class="preferred">{format!(" \u{201c}{p}\u{201d}")}</span> })}</h1>
                            <dl class="facts">
                                <div><dt>"Born"</dt><dd>{format!("{} ({})", r.date_of_birth, r.age)}</dd></div>
                                <div><dt>"NHS number"</dt><dd data-test="nhs">{r.nhs_number.clone()}</dd></div>
                                <div><dt>"Unit"</dt><dd data-test="unit">{r.unit.clone()}</dd></div>
                                <div><dt>"Room"</dt><dd data-test="room">{r.room.clone()}</dd></div>
                            </dl>
                        </div>
                        <div class="allergy-box" class:none=allergies.is_empty() role="note" aria-label="Allergies">
                            {if allergies.is_empty() {
                                view! { <span>"No known allergies"</span> }.into_any()
                            } else {
                                view! { <span><strong>"ALLERGIES: "</strong>{allergies.iter().map(|a| format!("{} ({}){}", a.substance, a.reaction, if a.checked { "" } else { " \u{2014} not checked by the system: check each medicine yourself" })).collect::<Vec<_>>().join("; ")}</span> }.into_any()
                            }}
                        </div>
                    </header>
                    {r.name_alert.clone().map(|a| view! { <p class="alert warn" role="alert" data-test="name-alert">{a}</p> })}
                    {r.away.clone().map(|a| view! { <p class="alert bad" role="alert">{format!("{a}. Doses resolve as HOSPITAL or LEAVE.")}</p> })}
                    {r.locked_for_reconciliation.then(|| view! {
                        <div class="alert bad" role="alert">
                            <p>"Back from hospital: doses are locked until a senior has checked the medicines against the discharge letter."</p>
                            <button class="primary" data-test="reconcile" on:click=move |_| {
                                let resident = rid();
                                spawn_local(async move {
                                    match call(&Reconcile { resident }).await {
                                        Ok(()) => { app.say(true, "Medicines reconciled: doses unlocked."); reload(); }
                                        Err(e) => app.fail(e),
                                    }
                                });
                            }>"I am a senior: medicines reconciled"</button>
                        </div>
                    })}
                    {app.session.get_untracked().filter(|s| s.staff.role.is_senior()).map(|_| {
                        let left = r.left;
                        let away = r.away.is_some() && !left;
                        let name = r.name.clone();
                        let (rid2, rid3) = (r.id.clone(), r.id.clone());
                        view! {
                            <section class="presence" data-test="presence" aria-label="Where the resident is">
                                <button class="secondary" data-test="change-details" on:click=move |_| app.open_resident_form(Some(rid2.clone()))>"Change details"</button>
                                <button class="secondary" data-test="write-up-order" on:click=move |_| app.open_order_form(rid3.clone())>"Write up a medicine"</button>
                                {move || match presence.get() {
                                    None if left => view! {
                                        <button class="secondary" data-test="presence-back" on:click=move |_| presence.set(Some(PresenceChange::Back))>"Readmitted to the home"</button>
                                    }.into_any(),
                                    None => view! {
                                        {if away {
                                            view! {
                                                <button class="secondary" data-test="presence-back" on:click=move |_| presence.set(Some(PresenceChange::Back))>"Back in the home"</button>
                                            }.into_any()
                                        } else {
                                            view! {
                                                <button class="secondary" data-test="presence-hospital" on:click=move |_| presence.set(Some(PresenceChange::ToHospital))>"Gone to hospital"</button>
                                                <button class="secondary" data-test="presence-leave" on:click=move |_| presence.set(Some(PresenceChange::OnLeave))>"Gone on leave"</button>
                                            }.into_any()
                                        }}
                                        <button class="secondary" data-test="presence-discharged" on:click=move |_| presence.set(Some(PresenceChange::Discharged))>"Discharged"</button>
                                        <button class="secondary" data-test="presence-died" on:click=move |_| presence.set(Some(PresenceChange::Died))>"Died"</button>
                                    }.into_any(),
                                    Some(change) => {
                                        let question = match change {
                                            PresenceChange::ToHospital => format!("Record {name} as gone to hospital now? Their doses will close as HOSPITAL until they are back."),
                                            PresenceChange::OnLeave => format!("Record {name} as gone on leave now? Their doses will close as LEAVE until they are back."),
                                            PresenceChange::Back if left => format!("Readmit {name} now? Their doses stay locked until a senior has checked the medicines they came with."),
                                            PresenceChange::Back => format!("Record {name} as back now? Their doses stay locked until a senior has checked the medicines that came back with them."),
                                            PresenceChange::Discharged => format!("Record {name} as discharged from the home now? Their doses stop and they leave the round; their records are kept."),
                                            PresenceChange::Died => format!("Record that {name} has died? Their doses stop and they leave the round; their records are kept."),
                                        };
                                        view! {
                                            <p>{question}</p>
                                            <button class="secondary" on:click=move |_| presence.set(None)>"Cancel"</button>
                                            <button class="primary" data-test="presence-confirm" on:click=move |_| set_presence(change)>"Yes, record it"</button>
                                        }.into_any()
                                    }
                                }}
                            </section>
                        }
                    })}
                    {r.covert_plan.clone().map(|c| view! { <p class="alert info">{c}</p> })}
                    {r.reviews.clone().into_iter().map(|m| view! { <p class="alert warn">{m}</p> }).collect_view()}
                }
            })}

            <section class="scan" aria-label="Scan">
                <label for="scan">"Scan a pack or dispensing label"</label>
                <input id="scan" data-test="scan" autocomplete="off" placeholder="Scan, or type the barcode and press Enter"
                    prop:value=move || scan_text.get()
                    on:input=move |ev| scan_text.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Enter" { do_scan() }/>
                <button class="secondary" on:click=move |_| do_scan()>"Check"</button>
                {move || scan_msg.get().map(|(ok, m)| view! { <p class="scan-result" class:ok=ok class:bad=!ok role="status" data-test="scan-result">{m}</p> })}
            </section>

            <DosePanel panel=panel submit=submit/>

            {move || app.resident.get().map(|r| {
                let follow = r.follow_ups.clone();
                view! {
                    <section aria-label="Doses today">
                        <h2>"Doses today"</h2>
                        <ul class="doses">
                            {r.doses.clone().into_iter().map(|d| dose_item(d, Kind::Slot, panel)).collect_view()}
                        </ul>
                    </section>
                    <section aria-label="When required">
                        <h2>"When required (PRN)"</h2>
                        <ul class="doses">
                            {r.prn.clone().into_iter().map(|d| dose_item(d, Kind::Prn, panel)).collect_view()}
                        </ul>
                    </section>
                    {(!follow.is_empty()).then(|| view! {
                        <section aria-label="PRN follow-ups">
                            <h2>"Was it effective?"</h2>
                            <ul class="doses">
                                {follow.into_iter().map(|f| {
                                    let id1 = f.administration.clone();
                                    let id2 = f.administration.clone();
                                    let send = move |adm: String, effective: bool| {
                                        let resident = rid();
                                        spawn_local(async move {
                                            match call(&RecordFollowUp { resident, administration: adm, effective, note: None }).await {
                                                Ok(d) => { app.say(true, d.message); reload(); }
                                                Err(e) => app.fail(e),
                                            }
                                        });
                                    };
                                    view! {
                                        <li class="dose" class:due=f.due>
                                            <span class="time">{f.given_at.clone()}</span>
                                            <span class="what">{f.medicine.clone()}{(!f.due).then_some(" (not yet due)")}</span>
                                            <button class="secondary" on:click=move |_| send(id1.clone(), true)>"Effective"</button>
                                            <button class="secondary" on:click=move |_| send(id2.clone(), false)>"Not effective"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </section>
                    })}
                    <details class="homely">
                        <summary>"Homely remedies"</summary>
                        <ul class="doses">
                            {r.homely.clone().into_iter().map(|d| dose_item(d, Kind::Homely, panel)).collect_view()}
                        </ul>
                    </details>
                    <section aria-label="Patches">
                        {r.doses.iter().chain(r.prn.iter()).filter(|d| d.patch).take(1).map(|d| {
                            let order = d.order.clone();
                            let controlled = d.controlled.is_some();
                            view! {
                                <div class="patch-removal">
                                    <label for="patch-site">"Record removal of the current patch, from:"</label>
                                    <input id="patch-site" prop:value=move || patch_site.get() on:input=move |ev| patch_site.set(event_target_value(&ev)) placeholder="e.g. left upper arm"/>
                                    {controlled.then(|| view! {
                                        <WitnessFields id="patch" legend="Controlled drug: the patch is destroyed in front of a witness, with their own PIN" who=second_who pin=second_pin/>
                                    })}
                                    <button class="secondary" on:click=move |_| {
                                        let (resident, order, site) = (rid(), order.clone(), patch_site.get_untracked());
                                        let witness = if controlled { witness_pin(second_who, second_pin) } else { None };
                                        spawn_local(async move {
                                            match call(&RemovePatch { resident, order, site, witness }).await {
                                                Ok(d) => { app.say(true, d.message); patch_site.set(String::new()); second_pin.set(String::new()); reload(); }
                                                Err(e) => app.fail(e),
                                            }
                                        });
                                    }>"Record removal"</button>
                                </div>
                            }
                        }).collect_view()}
                    </section>
                    <section aria-label="Records, last 24 hours">
                        <h2>"Records, last 24 hours"</h2>
                        <table class="records" data-test="records">
                            <thead><tr><th>"Time"</th><th>"Medicine"</th><th>"Outcome"</th><th>"By"</th><th>"Notes"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                            <tbody>
                                {r.records.clone().into_iter().map(|rec| {
                                    let rec2 = rec.clone();
                                    let can_correct = !rec.voided && rec.correction_of.is_none() && rec.outcome != OutcomeCode::Missed;
                                    view! {
                                        <tr class:voided=rec.voided data-test=format!("record-{}", rec.outcome.code())>
                                            <td>{rec.time.clone()}</td>
                                            <td>{rec.medicine.clone()}</td>
                                            <td><span class=format!("code code-{}", rec.outcome.code())>{rec.outcome.code()}</span>{rec.quantity.clone().map(|q| format!(" ×{q}"))}</td>
                                            <td>{rec.by.clone()}{rec.witness.clone().map(|w| format!(" (witness {w})"))}</td>
                                            <td>{rec.note.clone()}{rec.late.then_some(" · late")}{rec.retrospective.then_some(" · retrospective")}{rec.voided.then_some(" · voided")}</td>
                                            <td>{can_correct.then(|| view! { <button class="link" on:click=move |_| { correction_reason.set(String::new()); correcting.set(Some(rec2.clone())); }>"Correct"</button> })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                }
            })}

            {move || correcting.get().map(|rec| {
                let record = rec.id.clone();
                view! {
                    <div class="sheet" role="dialog" aria-label="Correct a record">
                        <h2>"Correct this record"</h2>
                        <p>{format!("{} · {} · {}", rec.time, rec.medicine, rec.outcome.code())}</p>
                        <p class="muted">"The record stays visible, struck through, with your correction beside it."</p>
                        <label for="correction">"Why is it wrong?"</label>
                        <textarea id="correction" data-test="correction-reason" prop:value=move || correction_reason.get() on:input=move |ev| correction_reason.set(event_target_value(&ev))></textarea>
                        {rec.witness.is_some().then(|| view! {
                            <WitnessFields id="correction" legend="Controlled drug: it goes back on the register in front of a witness, with their own PIN" who=second_who pin=second_pin/>
                        })}
                        <div class="actions">
                            <button class="secondary" on:click=move |_| correcting.set(None)>"Cancel"</button>
                            <button class="primary" data-test="confirm-correction" on:click=move |_| {
                                let (resident, record, reason) = (rid(), record.clone(), correction_reason.get_untracked());
                                let witness = witness_pin(second_who, second_pin);
                                spawn_local(async move {
                                    match call(&CorrectRecord { resident, record, reason, witness }).await {
                                        Ok(d) => { correcting.set(None); second_pin.set(String::new()); app.say(true, d.message); reload(); }
                                        Err(e) => app.fail(e),
                                    }
                                });
                            }>"Record correction"</button>
                        </div>
                    </div>
                }
            })}
        </main>
    }
}

fn dose_item(d: DoseRow, kind: Kind, panel: Panel) -> impl IntoView {
    let actionable = d.unavailable.is_none()
        && (kind != Kind::Slot
            || matches!(
                d.state,
                DoseState::Due | DoseState::Late | DoseState::Upcoming
            ));
    let d2 = d.clone();
    let k2 = kind.clone();
    let state_label = match (&d.outcome, &d.state) {
        _ if kind != Kind::Slot && d.unavailable.is_none() => "AS NEEDED".into(),
        (Some(o), _) => o.code().to_string(),
        (None, DoseState::Due) => "DUE".into(),
        (None, DoseState::Late) => "LATE".into(),
        (None, DoseState::Upcoming) => "LATER".into(),
        (None, DoseState::Done) => "CLOSED".into(),
    };
    let button_label = match kind {
        Kind::Slot => "Record",
        Kind::Prn => "Give PRN",
        Kind::Homely => "Give remedy",
    };
    let test_id = format!("dose-{}-{}", d.order, d.time.replace(':', ""));
    view! {
        <li class="dose" data-test=test_id
            class:due=matches!(d.state, DoseState::Due) class:late=matches!(d.state, DoseState::Late)
            class:done=d.outcome.is_some() class:unavailable=d.unavailable.is_some()>
            <span class="time">{if d.time.is_empty() { "PRN".to_string() } else { d.time.clone() }}</span>
            <span class="what">
                <strong>{d.medicine.clone()}</strong>
                <span>{format!(" · {} · {}", d.dose, d.route)}</span>
                {d.controlled.clone().map(|c| view! { <span class="chip cd">{c}</span> })}
                {d.time_critical.then(|| view! { <span class="chip critical">"Time-critical"</span> })}
                <span class="instructions">{d.instructions.clone()}</span>
                {(!d.window.is_empty()).then(|| view! { <span class="muted">{format!("Window {}", d.window)}</span> })}
                {d.unavailable.clone().map(|u| view! { <span class="chip missed">{u}</span> })}
            </span>
            <span class=format!("state code-{}", state_label)>{state_label.clone()}</span>
            {actionable.then(|| view! {
                <button class="primary" aria-label=format!("{} {}", button_label, d.medicine) on:click=move |_| panel.open(d2.clone(), k2.clone())>{button_label}</button>
            })}
            {d.pending_check_in.then(|| view! { <CheckInButton order=d.order.clone() medicine=d.medicine.clone() hand_entered=d.hand_entered/> })}
        </li>
    }
}

/// S16: a senior checks in an order that arrived from the pharmacy, or one typed in by hand,
/// which a second trained person checks too, with their own PIN. Carers see no button; the
/// shell refuses them anyway.
#[component]
fn CheckInButton(order: String, medicine: String, hand_entered: bool) -> impl IntoView {
    let app = expect_context::<AppState>();
    let senior = move || app.session.get().is_some_and(|s| s.staff.role.is_senior());
    let busy = RwSignal::new(false);
    // The second checker's part, open once "Check in" is tapped on a hand-typed order.
    let asking = RwSignal::new(false);
    let second = RwSignal::new(String::new());
    let second_pin = RwSignal::new(String::new());
    // Warnings the senior reads before it is checked in (duplicate therapy, S4; an allergy
    // the medicine meets, S6): their messages and codes, and the prescriber's note that two
    // orders are both meant, if they said so.
    let warning = RwSignal::new(None::<(String, Vec<FindingCode>)>);
    let note = RwSignal::new(String::new());
    let send = move |order: String| {
        let Some(resident) = app.resident.get_untracked().map(|r| r.id) else {
            return;
        };
        let second = (hand_entered && !second.get_untracked().is_empty()).then(|| WitnessPin {
            staff_id: second.get_untracked(),
            pin: second_pin.get_untracked(),
        });
        let answers = warning.get_untracked().map(|(_, codes)| CheckInAnswers {
            acknowledged: codes,
            both_intended: Some(note.get_untracked()).filter(|n| !n.trim().is_empty()),
        });
        busy.set(true);
        spawn_local(async move {
            let res = call(&CheckInOrder {
                resident: resident.clone(),
                order,
                second,
                answers,
            })
            .await;
            busy.set(false);
            match res {
                Ok(()) => {
                    second_pin.set(String::new());
                    warning.set(None);
                    app.say(true, "Order checked in: it can now be given.");
                    app.open_resident(resident);
                }
                Err(e)
                    if !e.findings.is_empty()
                        && e.findings.iter().all(|f| f.severity == Severity::Warn) =>
                {
                    let codes = e.findings.iter().map(|f| f.code).collect();
                    warning.set(Some((e.message.clone(), codes)));
                }
                Err(e) => {
                    second_pin.set(String::new());
                    app.fail(e)
                }
            }
        });
    };
    view! {
        {move || senior().then(|| {
            let (o1, o2) = (order.clone(), order.clone());
            let me = app.session.get_untracked().map(|s| s.staff.id).unwrap_or_default();
            let checkers: Vec<StaffCard> = app.home.get_untracked().map(|h| h.staff).unwrap_or_default().into_iter()
                .filter(|s| s.id != me && s.role != medround_domain::staff::Role::Auditor).collect();
            view! {
                <button class="primary" data-test=format!("check-in-{order}") disabled=move || busy.get()
                    aria-label=format!("Check in {medicine}")
                    on:click=move |_| if hand_entered { asking.set(true) } else { send(o1.clone()) }>"Check in"</button>
                {let o3 = order.clone(); move || warning.get().map(|(message, codes)| {
                    let o3 = o3.clone();
                    let duplicate = codes.contains(&FindingCode::DuplicateTherapy);
                    view! {
                        <fieldset class="warning duplicate" data-test="check-in-warnings" role="alert">
                            <legend>"Read before checking it in"</legend>
                            <p>{message}</p>
                            {duplicate.then(|| view! {
                                <label for="both-intended">"What the prescriber said, if both orders are meant (then no dose will warn of it)"</label>
                                <input id="both-intended" data-test="both-intended" prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))
                                    placeholder="e.g. Dr Patel by phone 10:20: both meant, max 4 g a day"/>
                            })}
                            <div class="actions">
                                <button class="secondary" on:click=move |_| warning.set(None)>"Cancel"</button>
                                <button class="primary" data-test="duplicate-confirm" disabled=move || busy.get() on:click=move |_| send(o3.clone())>"I have read this: check in"</button>
                            </div>
                        </fieldset>
                    }
                })}
                {move || asking.get().then(|| {
                    let o2 = o2.clone();
                    let checkers = checkers.clone();
                    view! {
                        <fieldset class="witness second-check" data-test="second-check">
                            <legend>"Typed in by hand: a second trained person checks it against the letter, with their own PIN"</legend>
                            <label for="second-who">"Second checker"</label>
                            <select id="second-who" data-test="second-who" on:change=move |ev| second.set(event_target_value(&ev))>
                                <option value="">"Choose who checks it"</option>
                                {checkers.iter().map(|w| view! { <option value=w.id.clone()>{format!("{} ({})", w.name, w.role_label)}</option> }).collect_view()}
                            </select>
                            <label for="second-pin">"Their PIN"</label>
                            <input id="second-pin" data-test="second-pin" type="password" inputmode="numeric" autocomplete="off"
                                prop:value=move || second_pin.get() on:input=move |ev| second_pin.set(event_target_value(&ev))/>
                            <div class="actions">
                                <button class="secondary" on:click=move |_| asking.set(false)>"Cancel"</button>
                                <button class="primary" data-test="second-confirm" disabled=move || busy.get() on:click=move |_| send(o2.clone())>"Checked against the letter"</button>
                            </div>
                        </fieldset>
                    }
                })}
            }
        })}
    }
}

/// The witness named in `who`, with their PIN, if one was chosen.
fn witness_pin(who: RwSignal<String>, pin: RwSignal<String>) -> Option<WitnessPin> {
    let staff_id = who.get_untracked();
    (!staff_id.is_empty()).then(|| WitnessPin {
        staff_id,
        pin: pin.get_untracked(),
    })
}

/// A second trained person and their PIN, for what a controlled drug needs witnessed (S7).
#[component]
fn WitnessFields(
    id: &'static str,
    legend: &'static str,
    who: RwSignal<String>,
    pin: RwSignal<String>,
) -> impl IntoView {
    let app = expect_context::<AppState>();
    let me = app
        .session
        .get_untracked()
        .map(|s| s.staff.id)
        .unwrap_or_default();
    let witnesses: Vec<StaffCard> = app
        .home
        .get_untracked()
        .map(|h| h.staff)
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.id != me && s.role != medround_domain::staff::Role::Auditor)
        .collect();
    let (who_id, pin_id) = (format!("{id}-witness-who"), format!("{id}-witness-pin"));
    view! {
        <fieldset class="witness" data-test=format!("{id}-witness")>
            <legend>{legend}</legend>
            <label for=who_id.clone()>"Witness"</label>
            <select id=who_id data-test=format!("{id}-witness-who") on:change=move |ev| who.set(event_target_value(&ev))>
                <option value="">"Choose the witness"</option>
                {witnesses.iter().map(|w| { let chosen = who.get_untracked() == w.id; view! { <option value=w.id.clone() selected=chosen>{format!("{} ({})", w.name, w.role_label)}</option> } }).collect_view()}
            </select>
            <label for=pin_id.clone()>"Witness PIN"</label>
            <input id=pin_id data-test=format!("{id}-witness-pin") type="password" inputmode="numeric" autocomplete="off"
                prop:value=move || pin.get() on:input=move |ev| pin.set(event_target_value(&ev))/>
        </fieldset>
    }
}

const CHOICES: &[OutcomeCode] = &[
    OutcomeCode::Given,
    OutcomeCode::Refused,
    OutcomeCode::Asleep,
    OutcomeCode::Nausea,
    OutcomeCode::Withheld,
    OutcomeCode::NotRequired,
    OutcomeCode::NoStock,
    OutcomeCode::Destroyed,
    OutcomeCode::SelfAdministered,
    OutcomeCode::Hospital,
    OutcomeCode::Leave,
    OutcomeCode::Other,
];

#[component]
fn DosePanel(panel: Panel, submit: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let app = expect_context::<AppState>();
    view! {
        {move || panel.row.get().map(|(row, kind)| {
            let row_q = row.clone();
            let me = app.session.get_untracked().map(|s| s.staff.id).unwrap_or_default();
            let witnesses: Vec<StaffCard> = app.home.get_untracked().map(|h| h.staff).unwrap_or_default().into_iter()
                .filter(|s| s.id != me && s.role != medround_domain::staff::Role::Auditor).collect();
            let choices: Vec<OutcomeCode> = match kind {
                Kind::Slot => CHOICES.iter().copied().filter(|c| *c != OutcomeCode::NotRequired || row.variable).collect(),
                _ => vec![OutcomeCode::Given, OutcomeCode::Refused, OutcomeCode::NotRequired],
            };
            view! {
                <section class="sheet dose-panel" role="dialog" aria-label=format!("Record {}", row.medicine) data-test="dose-panel">
                    <h2>{row.medicine.clone()}</h2>
                    <p class="big">{format!("{} · {}", row.dose, row.route)}{(!row.time.is_empty()).then(|| format!(" · due {}", row.time))}</p>
                    <p class="instructions">{row.instructions.clone()}</p>
                    <fieldset>
                        <legend>"What happened?"</legend>
                        <div class="choices">
                            {choices.into_iter().map(|c| view! {
                                <button class="choice" data-test=format!("outcome-{}", c.code())
                                    class:selected=move || panel.outcome.get() == Some(c)
                                    aria-pressed=move || (panel.outcome.get() == Some(c)).to_string()
                                    on:click=move |_| { panel.outcome.set(Some(c)); panel.findings.set(vec![]); }>
                                    <strong>{c.code()}</strong><span class="muted">{c.meaning()}</span>
                                </button>
                            }).collect_view()}
                        </div>
                    </fieldset>
                    {move || {
                        let given = panel.outcome.get().map(|o| o.is_taken()).unwrap_or(false);
                        let needs_note = panel.outcome.get().map(|o| o.needs_note()).unwrap_or(false);
                        let row = row_q.clone();
                        let witnesses = witnesses.clone();
                        view! {
                            {(given && row.variable).then(|| {
                                let (min, max) = (row.min_qty.as_f64(), row.max_qty.as_f64());
                                let whole = min.fract() == 0.0 && max.fract() == 0.0 && max - min <= 4.0;
                                view! {
                                    <fieldset>
                                        <legend>{format!("How many {}?", row.unit)}</legend>
                                        {if whole {
                                            let opts: Vec<f64> = ((min as i64)..=(max as i64)).map(|v| v as f64).collect();
                                            view! { <div class="choices">{opts.into_iter().map(|v| view! {
                                                <button class="choice small" data-test=format!("qty-{v}") class:selected=move || panel.qty.get() == Some(v) on:click=move |_| panel.qty.set(Some(v))>{format!("{v}")}</button>
                                            }).collect_view()}</div> }.into_any()
                                        } else {
                                            view! { <input type="number" step="0.5" min=min max=max data-test="qty" aria-label=format!("Quantity in {}", row.unit)
                                                on:input=move |ev| panel.qty.set(event_target_value(&ev).parse().ok())/> }.into_any()
                                        }}
                                    </fieldset>
                                }
                            })}
                            {(given && row.prn_indication.is_some()).then(|| view! {
                                <label for="prn-reason">{format!("Why is it needed? ({})", row.prn_indication.clone().unwrap_or_default())}</label>
                                <input id="prn-reason" data-test="prn-reason" prop:value=move || panel.prn_reason.get() on:input=move |ev| panel.prn_reason.set(event_target_value(&ev))/>
                            })}
                            {(given && row.state == DoseState::Late).then(|| view! {
                                <label for="late-reason">"This dose is late. Why?"</label>
                                <input id="late-reason" data-test="late-reason" prop:value=move || panel.late_reason.get() on:input=move |ev| panel.late_reason.set(event_target_value(&ev))/>
                            })}
                            {(given && row.needs_site).then(|| view! {
                                <label for="site">"Where on the body?"</label>
                                <input id="site" data-test="site" placeholder="e.g. right upper arm" prop:value=move || panel.site.get() on:input=move |ev| panel.site.set(event_target_value(&ev))/>
                            })}
                            {(given && row.covert_offered).then(|| view! {
                                <label class="check"><input type="checkbox" on:change=move |ev| panel.covert.set(event_target_checked(&ev))/>"Given covertly, as the in-date plan says"</label>
                            })}
                            {given.then(|| view! {
                                <label class="check"><input type="checkbox" data-test="tapped" prop:checked=move || panel.tapped.get() on:change=move |ev| panel.tapped.set(event_target_checked(&ev))/>"No scanner: I have checked the pack against the chart (recorded as not scanned)"</label>
                            })}
                            {(needs_note || panel.outcome.get().is_some()).then(|| view! {
                                <label for="note">{if needs_note { "Note (needed)" } else { "Note (optional)" }}</label>
                                <textarea id="note" data-test="note" prop:value=move || panel.note.get() on:input=move |ev| panel.note.set(event_target_value(&ev))></textarea>
                            })}
                            {(!row.slot.is_empty() && panel.outcome.get().is_some()).then(|| view! {
                                <details class="earlier">
                                    <summary>"It happened earlier and was not recorded at the time"</summary>
                                    <label for="earlier">"Time it happened (HH:MM)"</label>
                                    <input id="earlier" data-test="earlier" type="time" prop:value=move || panel.earlier.get() on:input=move |ev| panel.earlier.set(event_target_value(&ev))/>
                                    <label for="retro-reason">"Why was it not recorded then?"</label>
                                    <input id="retro-reason" data-test="retro-reason" prop:value=move || panel.retro_reason.get() on:input=move |ev| panel.retro_reason.set(event_target_value(&ev))/>
                                </details>
                            })}
                            {(row.controlled.is_some() && given).then(|| view! {
                                <fieldset class="witness" data-test="witness">
                                    <legend>"Controlled drug: second person witnesses with their own PIN"</legend>
                                    <label for="witness-who">"Witness"</label>
                                    <select id="witness-who" data-test="witness-who" on:change=move |ev| panel.witness.set(event_target_value(&ev))>
                                        <option value="">"Choose the witness"</option>
                                        {witnesses.iter().map(|w| view! { <option value=w.id.clone()>{format!("{} ({})", w.name, w.role_label)}</option> }).collect_view()}
                                    </select>
                                    <label for="witness-pin">"Witness PIN"</label>
                                    <input id="witness-pin" data-test="witness-pin" type="password" inputmode="numeric" autocomplete="off"
                                        prop:value=move || panel.witness_pin.get() on:input=move |ev| panel.witness_pin.set(event_target_value(&ev))/>
                                </fieldset>
                            })}
                        }
                    }}
                    <div class="findings" role="alert" data-test="findings">
                        {move || panel.findings.get().into_iter().map(|f| {
                            let code = f.code;
                            let warn = f.severity == Severity::Warn;
                            view! {
                                <div class="finding" class:block=!warn class:warn=warn data-test=format!("finding-{:?}", f.code)>
                                    <span class="rule">{format!("{:?}", f.rule)}</span>
                                    <span>{f.message.clone()}</span>
                                    {warn.then(|| view! {
                                        <label class="check"><input type="checkbox" on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            panel.acks.update(|a| { a.retain(|c| *c != code); if on { a.push(code); } });
                                        }/>"I have read this"</label>
                                    })}
                                </div>
                            }
                        }).collect_view()}
                    </div>
                    <div class="actions">
                        <button class="secondary" data-test="cancel-dose" on:click=move |_| panel.row.set(None)>"Cancel"</button>
                        <button class="primary" data-test="save-dose" disabled=move || panel.busy.get() || panel.outcome.get().is_none() on:click=move |_| submit()>"Save record"</button>
                    </div>
                </section>
            }
        })}
    }
}
