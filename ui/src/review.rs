//! The manager's review: what went wrong in a period, the trend over the days, PRN use, the
//! incidents to work, printing the MAR, and a resident's audit trail. Charts are SVG with the
//! same figures in a table beside them, for screen readers.

use crate::ipc::call;
use crate::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use medround_ipc::*;

impl AppState {
    pub fn open_review(self, from: Option<String>, to: Option<String>) {
        spawn_local(async move {
            match call(&GetReview { from, to }).await {
                Ok(v) => {
                    self.review.set(Some(v));
                    self.screen.set(Screen::Review);
                }
                Err(e) => self.fail(e),
            }
        });
    }

    /// Opens a resident's audit trail; `focus` marks one record in it (the dose tapped).
    pub fn open_audit(self, resident: String, focus: Option<String>) {
        self.audit_focus.set(focus);
        let (from, to) = self
            .review
            .get_untracked()
            .map(|r| (Some(r.from), Some(r.to)))
            .unwrap_or_default();
        spawn_local(async move {
            match call(&GetAudit { resident, from, to }).await {
                Ok(v) => {
                    self.audit.set(Some(v));
                    self.screen.set(Screen::Audit);
                    // Show the marked dose (or the top of the trail), not where the review
                    // happened to be scrolled.
                    request_animation_frame(move || {
                        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
                            return;
                        };
                        match doc.query_selector("tr.focus").ok().flatten() {
                            Some(row) => row.scroll_into_view(),
                            None => {
                                if let Some(w) = web_sys::window() {
                                    w.scroll_to_with_x_and_y(0.0, 0.0);
                                }
                            }
                        }
                    });
                }
                Err(e) => self.fail(e),
            }
        });
    }

    pub fn print_mar(self, resident: Option<String>, unit: Option<String>) {
        spawn_local(async move {
            self.say(true, "Preparing the MAR chart...");
            match call(&ExportMar {
                resident,
                unit,
                from: None,
            })
            .await
            {
                Ok(x) => self.say(true, x.message),
                Err(e) => self.fail(e),
            }
        });
    }
}

/// One series of the trend chart: label, colour, and how to read it from the day's counts.
type Series = (&'static str, &'static str, fn(&Counts) -> u32);

const SERIES: [Series; 5] = [
    ("On time", "#1e6b30", |c| c.on_time),
    ("Late", "#8a4b00", |c| c.late),
    ("Missed", "#a30f1b", |c| c.missed),
    ("Refused", "#6a1b9a", |c| c.refused),
    ("Other not given", "#4a5560", |c| c.withheld + c.not_given),
];

#[component]
fn TrendChart(days: Vec<CountRow>) -> impl IntoView {
    let (w, h, left, bottom) = (860.0_f64, 240.0_f64, 40.0_f64, 28.0_f64);
    let max = days
        .iter()
        .map(|d| SERIES.iter().map(|s| (s.2)(&d.counts)).sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let bw = (w - left) / days.len().max(1) as f64;
    let scale = (h - bottom - 8.0) / max;
    let bars = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut y = h - bottom;
            let x = left + bw * i as f64 + 2.0;
            let parts = SERIES
                .iter()
                .map(|(name, colour, get)| {
                    let v = get(&d.counts) as f64;
                    y -= v * scale;
                    view! {
                        <rect x=x y=y width=(bw - 4.0).max(1.0) height=v * scale fill=*colour>
                            <title>{format!("{}: {} {}", d.label, v, name)}</title>
                        </rect>
                    }
                })
                .collect_view();
            let tick = (i % 7 == 0).then(|| {
                view! { <text x=x y=h - 8.0 font-size="13" fill="#1b1f23">{d.label.clone()}</text> }
            });
            view! { <g>{parts}{tick}</g> }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 {w} {h}") role="img" aria-hidden="true" data-test="trend-chart">
            <line x1=left y1=h - bottom x2=w y2=h - bottom stroke="#1b1f23"/>
            <text x="0" y="14" font-size="13" fill="#1b1f23">{format!("{}", max as u32)}</text>
            <text x="0" y=h - bottom font-size="13" fill="#1b1f23">"0"</text>
            {bars}
        </svg>
        <p class="legend" aria-hidden="true">
            {SERIES.iter().map(|(name, colour, _)| view! {
                <span><span class="swatch" style=format!("background:{colour}")></span>{*name}</span>
            }).collect_view()}
        </p>
    }
}

#[component]
fn PrnChart(rows: Vec<CountRow>) -> impl IntoView {
    let max = rows
        .iter()
        .map(|r| r.counts.total())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let h = 26.0 * rows.len().max(1) as f64;
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let y = 26.0 * i as f64;
            let n = r.counts.total();
            let bw = 480.0 * n as f64 / max;
            view! {
                <g>
                    <text x="0" y=y + 17.0 font-size="14" fill="#1b1f23">{r.label.clone()}</text>
                    <rect x="220" y=y + 4.0 width=bw.max(1.0) height="18" fill="#0b5394"/>
                    <text x=226.0 + bw y=y + 18.0 font-size="14" fill="#1b1f23">{n}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg class="chart" viewBox=format!("0 0 760 {h}") role="img" aria-hidden="true" data-test="prn-chart">{bars}</svg>
    }
}

fn counts_cells(c: &Counts) -> impl IntoView {
    view! {
        <td>{c.on_time}</td><td>{c.late}</td><td>{c.missed}</td><td>{c.refused}</td>
        <td>{c.withheld}</td><td>{c.not_given}</td><td>{c.away}</td>
    }
}

fn counts_head(first: &'static str) -> impl IntoView {
    view! {
        <thead><tr><th scope="col">{first}</th><th scope="col">"On time"</th><th scope="col">"Late"</th>
        <th scope="col">"Missed"</th><th scope="col">"Refused"</th><th scope="col">"Withheld"</th>
        <th scope="col">"Not given"</th><th scope="col">"Away"</th></tr></thead>
    }
}

#[component]
pub fn ReviewScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    let from = RwSignal::new(
        app.review
            .get_untracked()
            .map(|r| r.from)
            .unwrap_or_default(),
    );
    let to = RwSignal::new(app.review.get_untracked().map(|r| r.to).unwrap_or_default());
    let notes = RwSignal::new(std::collections::HashMap::<String, String>::new());
    let acknowledge = move |id: String| {
        let action = notes.with_untracked(|n| n.get(&id).cloned().unwrap_or_default());
        spawn_local(async move {
            match call(&AcknowledgeIncident {
                incident: id,
                action,
            })
            .await
            {
                Ok(r) => {
                    app.say(true, r.message);
                    let v = app.review.get_untracked();
                    app.open_review(v.as_ref().map(|v| v.from.clone()), v.map(|v| v.to));
                }
                Err(e) => app.fail(e),
            }
        });
    };
    view! {
        <main class="review" data-test="review-screen">
            <header class="topbar">
                <div>
                    <h1>"Review"</h1>
                    <p class="muted">{move || app.review.get().map(|r| r.period).unwrap_or_default()}</p>
                </div>
                <div class="topbar-right">
                    <label class="inline">"From"<input type="date" data-test="review-from" prop:value=move || from.get() on:input=move |ev| from.set(event_target_value(&ev))/></label>
                    <label class="inline">"To"<input type="date" data-test="review-to" prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev))/></label>
                    <button class="secondary" data-test="review-show" on:click=move |_| app.open_review(Some(from.get_untracked()), Some(to.get_untracked()))>"Show"</button>
                    <button class="secondary" data-test="open-stock" on:click=move |_| app.open_stock()>"Stock and CDs"</button>
                    <button class="secondary" data-test="review-back" on:click=move |_| app.back_to_round()>"< Round"</button>
                </div>
            </header>
            {move || app.review.get().map(|r| {
                let t = r.totals;
                view! {
                    <section aria-label="Totals" class="totals" data-test="review-totals">
                        <span class="chip ok">{format!("{} on time", t.on_time)}</span>
                        <span class="chip late">{format!("{} late", t.late)}</span>
                        {(t.time_critical_late > 0).then(|| view! { <span class="chip critical">{format!("{} time-critical late", t.time_critical_late)}</span> })}
                        <span class="chip missed">{format!("{} missed", t.missed)}</span>
                        <span class="chip missed">{format!("{} refused", t.refused)}</span>
                        <span class="chip late">{format!("{} withheld", t.withheld)}</span>
                        <span class="chip away">{format!("{} other not given", t.not_given)}</span>
                        <span class="chip warn" data-test="review-open-incidents">{format!("{} open incident{}", r.open_incidents, if r.open_incidents == 1 { "" } else { "s" })}</span>
                    </section>

                    <section aria-labelledby="incidents-h">
                        <h2 id="incidents-h">"Incidents"</h2>
                        {r.incidents.is_empty().then(|| view! { <p class="muted">"No incidents in this period."</p> })}
                        <ul class="incidents">
                            {r.incidents.iter().cloned().map(|i| {
                                let id = i.id.clone();
                                let id2 = i.id.clone();
                                let resident = i.resident.clone();
                                view! {
                                    <li class="incident" class:open=i.open data-test=format!("incident-{}", i.id)>
                                        <div class="incident-head">
                                            <span class="rule">{i.rule.clone()}</span>
                                            <strong>{i.kind_label.clone()}</strong>
                                            <button class="link" on:click=move |_| app.open_audit(resident.clone(), i.records.first().cloned())>{i.resident_name.clone()}</button>
                                            <span class="muted">{format!("{} · {}", i.raised, i.device)}</span>
                                            <span class=if i.open { "chip warn" } else { "chip ok" }>{if i.open { "Open" } else { "Acknowledged" }}</span>
                                        </div>
                                        <p>{i.message.clone()}</p>
                                        {i.acknowledgements.iter().map(|a| view! { <p class="ack">{a.clone()}</p> }).collect_view()}
                                        {(i.open && r.may_acknowledge).then(|| view! {
                                            <div class="ack-form">
                                                <label for=format!("ack-{id}")>"What was done"</label>
                                                <textarea id=format!("ack-{id}") data-test="ack-note"
                                                    on:input=move |ev| { let v = event_target_value(&ev); notes.update(|n| { n.insert(id.clone(), v); }); }></textarea>
                                                <button class="primary" data-test="ack-submit" on:click=move |_| acknowledge(id2.clone())>"Acknowledge"</button>
                                            </div>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>

                    <section aria-labelledby="followups-h">
                        <h2 id="followups-h">{format!("PRN follow-ups outstanding ({})", r.follow_ups.len())}</h2>
                        {r.follow_ups.is_empty().then(|| view! { <p class="muted">"Every when-required dose of the last day has its answer."</p> })}
                        <ul class="followups" data-test="follow-ups">
                            {r.follow_ups.iter().map(|f| {
                                let resident = f.resident.clone();
                                view! {
                                    <li>
                                        <strong>{f.resident_name.clone()}</strong>
                                        {format!(" · {} given {} · ", f.medicine, f.given_at)}
                                        <span class=if f.due { "chip late" } else { "chip away" }>{if f.due { "Ask now: was it effective?" } else { "Not due yet" }}</span>
                                        " "<button class="secondary" on:click=move |_| app.open_resident(resident.clone())>"Open chart"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </section>

                    <section aria-labelledby="trend-h">
                        <h2 id="trend-h">"Doses per day"</h2>
                        <TrendChart days=r.by_day.clone()/>
                        <details class="figures">
                            <summary>"Doses per day as a table"</summary>
                            <table class="records" data-test="trend-table">
                                <caption class="sr-only">"Doses per day: on time, late, missed, refused, withheld, not given, away"</caption>
                                {counts_head("Day")}
                                <tbody>{r.by_day.iter().map(|d| view! { <tr><th scope="row">{d.label.clone()}</th>{counts_cells(&d.counts)}</tr> }).collect_view()}</tbody>
                            </table>
                        </details>
                    </section>

                    <section aria-labelledby="exceptions-h">
                        <h2 id="exceptions-h">{format!("Doses that went wrong ({})", r.exceptions.len())}</h2>
                        <table class="records" data-test="exceptions">
                            <thead><tr><th scope="col">"Due"</th><th scope="col">"Resident"</th><th scope="col">"Medicine"</th><th scope="col">"What happened"</th><th scope="col">"Recorded by"</th></tr></thead>
                            <tbody>
                                {r.exceptions.iter().take(200).map(|x| {
                                    let resident = x.resident.clone();
                                    let record = x.record.clone();
                                    view! {
                                        <tr class:critical=x.time_critical>
                                            <td>{x.due.clone()}</td>
                                            <td><button class="link" on:click=move |_| app.open_audit(resident.clone(), record.clone())>{x.resident_name.clone()}</button></td>
                                            <td>{x.medicine.clone()}{x.time_critical.then(|| view! { " " <span class="chip critical">"Time-critical"</span> })}</td>
                                            <td class=format!("code-{}", x.outcome.map(|o| o.code()).unwrap_or("MISSED"))>{x.class_label.clone()}{x.outcome.map(|o| format!(" ({})", o.code()))}</td>
                                            <td>{x.staff.clone().unwrap_or_else(|| "-".into())}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        {(r.exceptions.len() > 200).then(|| view! { <p class="muted">"The first 200 are shown; choose a shorter period to see the rest."</p> })}
                    </section>

                    <section aria-labelledby="units-h">
                        <h2 id="units-h">"By unit"</h2>
                        <table class="records" data-test="by-unit">
                            {counts_head("Unit")}
                            <tbody>{r.by_unit.iter().map(|u| {
                                let key = u.key.clone();
                                view! { <tr><th scope="row">{u.label.clone()}
                                    " "<button class="secondary" data-test=format!("print-unit-{}", u.key) on:click=move |_| app.print_mar(None, Some(key.clone()))>"Print MAR"</button>
                                </th>{counts_cells(&u.counts)}</tr> }
                            }).collect_view()}</tbody>
                        </table>
                    </section>

                    <section aria-labelledby="residents-h">
                        <h2 id="residents-h">"By resident"</h2>
                        <table class="records" data-test="by-resident">
                            {counts_head("Resident")}
                            <tbody>{r.by_resident.iter().map(|g| {
                                let key = g.key.clone();
                                let key2 = g.key.clone();
                                view! { <tr>
                                    <th scope="row">
                                        <button class="link" on:click=move |_| app.open_audit(key.clone(), None)>{g.label.clone()}</button>
                                        " "<button class="secondary" data-test=format!("print-{}", g.key) on:click=move |_| app.print_mar(Some(key2.clone()), None)>"Print MAR"</button>
                                    </th>{counts_cells(&g.counts)}</tr> }
                            }).collect_view()}</tbody>
                        </table>
                    </section>

                    <section aria-labelledby="staff-h">
                        <h2 id="staff-h">"By member of staff"</h2>
                        <table class="records">{counts_head("Recorded by")}
                            <tbody>{r.by_staff.iter().map(|g| view! { <tr><th scope="row">{g.label.clone()}</th>{counts_cells(&g.counts)}</tr> }).collect_view()}</tbody>
                        </table>
                    </section>

                    <section aria-labelledby="medicine-h">
                        <h2 id="medicine-h">"By medicine"</h2>
                        <table class="records">{counts_head("Medicine")}
                            <tbody>{r.by_medicine.iter().map(|g| view! { <tr><th scope="row">{g.label.clone()}</th>{counts_cells(&g.counts)}</tr> }).collect_view()}</tbody>
                        </table>
                    </section>

                    <section aria-labelledby="prn-h">
                        <h2 id="prn-h">"When-required doses given, by resident"</h2>
                        {r.prn_given.is_empty().then(|| view! { <p class="muted">"None in this period."</p> })}
                        <PrnChart rows=r.prn_given.clone()/>
                        <table class="records sr-only-table">
                            <caption class="sr-only">"When-required doses given, by resident"</caption>
                            <tbody>{r.prn_given.iter().map(|g| view! { <tr><th scope="row">{g.label.clone()}</th><td>{g.counts.total()}</td></tr> }).collect_view()}</tbody>
                        </table>
                    </section>
                }
            })}
        </main>
    }
}

#[component]
pub fn AuditScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    view! {
        <main class="audit" data-test="audit-screen">
            <header class="topbar">
                <div>
                    <h1>{move || app.audit.get().map(|a| format!("Audit trail: {}", a.resident_name)).unwrap_or_default()}</h1>
                    <p class="muted">{move || app.audit.get().map(|a| a.period).unwrap_or_default()}</p>
                </div>
                <div class="topbar-right">
                    <button class="secondary" data-test="audit-print" on:click=move |_| app.print_mar(app.audit.get_untracked().map(|a| a.resident), None)>"Print MAR"</button>
                    <button class="secondary" data-test="audit-back" on:click=move |_| app.screen.set(Screen::Review)>"< Review"</button>
                </div>
            </header>
            <table class="records" data-test="audit">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Record"</th><th scope="col">"What"</th><th scope="col">"Who"</th><th scope="col">"Device"</th></tr></thead>
                <tbody>
                    {move || app.audit.get().map(|a| a.rows.into_iter().map(|r| {
                        let focus = app.audit_focus.get_untracked().as_deref() == Some(r.id.as_str());
                        view! {
                        <tr class:voided=r.voided class:focus=focus data-record=r.id.clone()>
                            <td>{focus.then(|| view! { <span class="chip due">"This dose"</span><br/> })}{r.at.clone()}{r.recorded.clone().map(|x| view! { <br/><span class="muted">{format!("written {x}")}</span> })}</td>
                            <td>{r.kind.clone()}</td>
                            <td>{r.summary.clone()}{(!r.flags.is_empty()).then(|| view! { <br/><span class="muted">{r.flags.join("; ")}</span> })}</td>
                            <td>{r.by.clone()}{r.witness.clone().map(|w| format!(" (witness {w})"))}</td>
                            <td>{r.device.clone()}</td>
                        </tr>
                    }}).collect_view())}
                </tbody>
            </table>
        </main>
    }
}
