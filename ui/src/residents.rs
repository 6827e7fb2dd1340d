//! Admitting a resident, and changing a resident's details (S1, S6). The screen holds what is
//! typed; the shell checks it against the domain's rules and says everything to put right at
//! once. The date of birth is asked as day, month and year in three fields, as NHS and GOV.UK
//! forms ask a date a person knows, rather than through a calendar.

use crate::ipc::call;
use crate::{AppState, Screen};
use chrono::{Datelike, NaiveDate};
use leptos::prelude::*;
use leptos::task::spawn_local;
use medround_domain::admission::ResidentDetails;
use medround_domain::finding::Finding;
use medround_domain::resident::Allergy;
use medround_domain::UnitId;
use medround_ipc::*;

impl AppState {
    /// Opens the admission form (no resident) or the form for a resident's details.
    pub fn open_resident_form(self, resident: Option<String>) {
        spawn_local(async move {
            match call(&GetResidentForm {
                resident: resident.clone(),
            })
            .await
            {
                Ok(f) => {
                    self.flash.set(None);
                    self.resident_form.set(Some(f));
                    self.screen.set(Screen::ResidentForm(resident));
                }
                Err(e) => self.fail(e),
            }
        });
    }
}

/// One allergy row as typed. Each field is its own signal, so typing does not rebuild the
/// list (which would take the focus away).
#[derive(Debug, Clone, Copy)]
struct AllergyRow {
    key: usize,
    substance: RwSignal<String>,
    reaction: RwSignal<String>,
}

#[derive(Debug, Clone, Copy)]
struct Form {
    given: RwSignal<String>,
    family: RwSignal<String>,
    preferred: RwSignal<String>,
    day: RwSignal<String>,
    month: RwSignal<String>,
    year: RwSignal<String>,
    nhs: RwSignal<String>,
    unit: RwSignal<String>,
    room: RwSignal<String>,
    allergies: RwSignal<Vec<AllergyRow>>,
    next_key: RwSignal<usize>,
    none_known: RwSignal<bool>,
    findings: RwSignal<Vec<Finding>>,
    busy: RwSignal<bool>,
}

impl Form {
    fn new(f: &ResidentForm) -> Self {
        let d = f.details.as_ref();
        let text = |s: Option<String>| RwSignal::new(s.unwrap_or_default());
        let rows: Vec<AllergyRow> = d
            .map(|d| d.allergies.clone())
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(key, a)| AllergyRow {
                key,
                substance: RwSignal::new(a.substance),
                reaction: RwSignal::new(a.reaction),
            })
            .collect();
        Form {
            given: text(d.map(|d| d.given_name.clone())),
            family: text(d.map(|d| d.family_name.clone())),
            preferred: text(d.and_then(|d| d.preferred_name.clone())),
            day: text(d.map(|d| d.date_of_birth.day().to_string())),
            month: text(d.map(|d| d.date_of_birth.month().to_string())),
            year: text(d.map(|d| d.date_of_birth.year().to_string())),
            nhs: text(d.map(|d| d.nhs_number.clone())),
            unit: text(
                d.map(|d| d.unit.to_string())
                    .or_else(|| f.units.first().map(|u| u.id.clone())),
            ),
            room: text(d.map(|d| d.room.clone())),
            next_key: RwSignal::new(rows.len()),
            allergies: RwSignal::new(rows),
            // A resident already on the home's books with no allergies listed was recorded as
            // having none known; a new one has been asked nothing yet.
            none_known: RwSignal::new(d.is_some_and(|d| d.no_known_allergies)),
            findings: RwSignal::new(vec![]),
            busy: RwSignal::new(false),
        }
    }

    fn add_allergy(&self) {
        let key = self.next_key.get_untracked();
        self.next_key.set(key + 1);
        self.allergies.update(|a| {
            a.push(AllergyRow {
                key,
                substance: RwSignal::new(String::new()),
                reaction: RwSignal::new(String::new()),
            })
        });
        self.none_known.set(false);
    }

    /// The details as typed, or what to tell the person when the date of birth is not a date.
    fn details(&self) -> Result<ResidentDetails, &'static str> {
        let n = |s: RwSignal<String>| s.get_untracked().trim().parse::<u32>().ok();
        let year = self.year.get_untracked().trim().parse::<i32>().ok();
        let date_of_birth = match (n(self.day), n(self.month), year) {
            (Some(d), Some(m), Some(y)) => NaiveDate::from_ymd_opt(y, m, d)
                .ok_or("That date of birth is not a date. Check the day, month and year.")?,
            _ => return Err("Give the date of birth as day, month and year, in numbers."),
        };
        let preferred = self.preferred.get_untracked();
        Ok(ResidentDetails {
            given_name: self.given.get_untracked(),
            family_name: self.family.get_untracked(),
            preferred_name: Some(preferred).filter(|p| !p.trim().is_empty()),
            date_of_birth,
            nhs_number: self.nhs.get_untracked(),
            unit: UnitId::new(self.unit.get_untracked()),
            room: self.room.get_untracked(),
            allergies: self
                .allergies
                .get_untracked()
                .into_iter()
                .map(|a| Allergy {
                    substance: a.substance.get_untracked(),
                    reaction: a.reaction.get_untracked(),
                })
                // A row added and left empty is not an allergy.
                .filter(|a| !(a.substance.trim().is_empty() && a.reaction.trim().is_empty()))
                .collect(),
            no_known_allergies: self.none_known.get_untracked(),
        })
    }
}

/// What to put right before a form can be saved, every one at once, listed above the form's
/// fields (the admission form and the order typed in by hand).
#[component]
pub fn Refusals(findings: RwSignal<Vec<Finding>>, test: &'static str) -> impl IntoView {
    view! {
        <div class="findings" role="alert" data-test=test>
            {move || findings.get().into_iter().map(|f| view! {
                <div class="finding block" data-test=format!("finding-{:?}", f.code)>
                    <span class="rule">{format!("{:?}", f.rule)}</span>
                    <span>{f.message.clone()}</span>
                </div>
            }).collect_view()}
        </div>
    }
}

#[component]
fn Field(id: &'static str, label: &'static str, value: RwSignal<String>) -> impl IntoView {
    view! {
        <label for=id>{label}</label>
        <input id=id data-test=id autocomplete="off" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
    }
}

#[component]
pub fn ResidentFormScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    move || {
        app.resident_form.get().map(|f| {
            let form = Form::new(&f);
            let resident = f.resident.clone();
            let title = match &f.name {
                Some(n) => format!("Details of {n}"),
                None => "Admit a resident".to_string(),
            };
            let back_to = resident.clone();
            let cancel = move || match back_to.clone() {
                Some(id) => app.open_resident(id),
                None => app.back_to_round(),
            };
            let cancel2 = cancel.clone();
            let save = move || {
                if form.busy.get_untracked() {
                    return;
                }
                let details = match form.details() {
                    Ok(d) => d,
                    Err(msg) => {
                        form.findings.set(vec![]);
                        app.say(false, msg);
                        return;
                    }
                };
                let resident = resident.clone();
                form.busy.set(true);
                spawn_local(async move {
                    let res = call(&SaveResident {
                        resident,
                        details,
                    })
                    .await;
                    form.busy.set(false);
                    match res {
                        Ok(saved) => {
                            app.resident_form.set(None);
                            app.open_resident(saved.resident);
                            app.say(true, saved.message);
                        }
                        Err(e) if e.code == ErrorCode::Blocked => {
                            form.findings.set(e.findings.clone());
                            app.say(false, e.message);
                            // What to put right is listed at the top of the form, above the
                            // fields it names; the Save button is at the bottom.
                            window().scroll_to_with_x_and_y(0.0, 0.0);
                        }
                        Err(e) => app.fail(e),
                    }
                });
            };
            let units = f.units.clone();
            view! {
                <main class="resident-form" data-test="resident-form">
                    <header class="topbar">
                        <div>
                            <h1>{title}</h1>
                            <p class="muted">"Copy the names, date of birth and NHS number from the NHS letter or GP record: they are how colleagues know it is the right person."</p>
                        </div>
                        <div class="topbar-right">
                            <button class="secondary" data-test="resident-form-back" on:click=move |_| cancel()>"Cancel"</button>
                        </div>
                    </header>
                    <Refusals findings=form.findings test="resident-findings"/>
                    <section class="sheet" aria-label="Who they are">
                        <div class="form-grid">
                            <div><Field id="given-name" label="First name" value=form.given/></div>
                            <div><Field id="family-name" label="Family name" value=form.family/></div>
                            <div><Field id="preferred-name" label="Known as (if not their first name)" value=form.preferred/></div>
                        </div>
                        <fieldset class="dob">
                            <legend>"Date of birth"</legend>
                            <div class="dob-parts">
                                <div><label for="dob-day">"Day"</label>
                                    <input id="dob-day" data-test="dob-day" inputmode="numeric" maxlength="2" autocomplete="off" prop:value=move || form.day.get() on:input=move |ev| form.day.set(event_target_value(&ev))/></div>
                                <div><label for="dob-month">"Month"</label>
                                    <input id="dob-month" data-test="dob-month" inputmode="numeric" maxlength="2" autocomplete="off" prop:value=move || form.month.get() on:input=move |ev| form.month.set(event_target_value(&ev))/></div>
                                <div class="year"><label for="dob-year">"Year"</label>
                                    <input id="dob-year" data-test="dob-year" inputmode="numeric" maxlength="4" autocomplete="off" prop:value=move || form.year.get() on:input=move |ev| form.year.set(event_target_value(&ev))/></div>
                            </div>
                        </fieldset>
                        <div class="form-grid">
                            <div>
                                <label for="nhs-number">"NHS number (10 digits)"</label>
                                <input id="nhs-number" data-test="nhs-number" inputmode="numeric" autocomplete="off" prop:value=move || form.nhs.get() on:input=move |ev| form.nhs.set(event_target_value(&ev))/>
                            </div>
                            <div>
                                <label for="unit">"Unit"</label>
                                <select id="unit" data-test="unit" on:change=move |ev| form.unit.set(event_target_value(&ev))>
                                    {units.into_iter().map(|u| {
                                        let id = u.id.clone();
                                        view! { <option value=u.id.clone() selected=move || form.unit.get() == id>{u.name.clone()}</option> }
                                    }).collect_view()}
                                </select>
                            </div>
                            <div><Field id="room" label="Room" value=form.room/></div>
                        </div>
                    </section>
                    <section class="sheet" aria-label="Allergies" data-test="allergies">
                        <p class="big">"Allergies"</p>
                        <p class="muted">"Ask the resident or their family, and check the GP record or discharge letter. Every medicine is checked against what is listed here: a class (Penicillins) covers all its members."</p>
                        <datalist id="known-allergens">
                            {medround_domain::allergen::choices().into_iter().map(|c| view! { <option value=c></option> }).collect_view()}
                        </datalist>
                        <For each=move || form.allergies.get() key=|a| a.key let:a>
                            <div class="form-grid allergy-row">
                                <div>
                                    <label for=format!("allergy-{}", a.key)>"Allergic to"</label>
                                    <input id=format!("allergy-{}", a.key) data-test="allergy-substance" autocomplete="off" list="known-allergens"
                                        prop:value=move || a.substance.get() on:input=move |ev| a.substance.set(event_target_value(&ev))/>
                                    {move || {
                                        let typed = a.substance.get();
                                        (!typed.trim().is_empty() && !medround_domain::allergen::read(&typed).checked()).then(|| view! {
                                            <p class="warning-text" data-test="allergy-not-known">"The system does not know this one, so it cannot check medicines against it: choose from the list if you can. If you keep it, every dose will ask the carer to check the label."</p>
                                        })
                                    }}
                                </div>
                                <div>
                                    <label for=format!("reaction-{}", a.key)>"Reaction"</label>
                                    <input id=format!("reaction-{}", a.key) data-test="allergy-reaction" autocomplete="off" prop:value=move || a.reaction.get() on:input=move |ev| a.reaction.set(event_target_value(&ev))/>
                                </div>
                                <div class="row-end">
                                    <button class="secondary" aria-label=move || format!("Remove the allergy {}", a.substance.get())
                                        on:click=move |_| form.allergies.update(|list| list.retain(|x| x.key != a.key))>"Remove"</button>
                                </div>
                            </div>
                        </For>
                        <div class="actions start">
                            <button class="secondary" data-test="add-allergy" on:click=move |_| form.add_allergy()>"Add an allergy"</button>
                        </div>
                        {move || form.allergies.get().is_empty().then(|| view! {
                            <label class="check"><input type="checkbox" data-test="no-known-allergies" prop:checked=move || form.none_known.get()
                                on:change=move |ev| form.none_known.set(event_target_checked(&ev))/>"No known allergies: I have asked and checked"</label>
                        })}
                    </section>
                    <div class="actions">
                        <button class="secondary" on:click=move |_| cancel2()>"Cancel"</button>
                        <button class="primary" data-test="resident-save" disabled=move || form.busy.get() on:click=move |_| save()>"Save"</button>
                    </div>
                </main>
            }
        })
    }
}
