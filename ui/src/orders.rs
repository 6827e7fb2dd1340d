//! Writing up an order by hand (S16), from the letter that came with a resident, until the
//! pharmacy's own order arrives. The screen sends what was typed; the shell checks it and keeps
//! it pending until a second trained person has checked it too.

use crate::ipc::call;
use crate::residents::Refusals;
use crate::{AppState, Screen};
use chrono::NaiveTime;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medround_domain::finding::Finding;
use medround_domain::order::{CdSchedule, Dose, PrnProtocol, Route};
use medround_domain::order_entry::OrderDraft;
use medround_domain::qty::Qty;
use medround_ipc::*;

impl AppState {
    pub fn open_order_form(self, resident: String) {
        self.flash.set(None);
        self.screen.set(Screen::OrderForm(resident));
    }
}

/// The home's round times, offered as boxes to tick; another time can be typed.
const ROUND_TIMES: &[&str] = &["08:00", "12:00", "17:00", "22:00"];

const ROUTES: &[(Route, &str)] = &[
    (Route::Oral, "By mouth"),
    (Route::Topical, "To the skin (cream, ointment)"),
    (Route::Transdermal, "Patch"),
    (Route::Eye, "Into the eye"),
    (Route::Ear, "Into the ear"),
    (Route::Nasal, "Into the nose"),
    (Route::Inhaled, "Inhaled"),
    (Route::Subcutaneous, "Subcutaneous injection"),
    (Route::Rectal, "Rectal"),
];

fn text(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    numeric: bool,
) -> impl IntoView {
    view! {
        <div>
            <label for=id>{label}</label>
            <input id=id data-test=id autocomplete="off" inputmode=if numeric { "decimal" } else { "text" }
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
        </div>
    }
}

fn number(s: RwSignal<String>) -> Option<f64> {
    s.get_untracked()
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

#[component]
pub fn OrderFormScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    let resident = move || match app.screen.get_untracked() {
        Screen::OrderForm(id) => id,
        _ => String::new(),
    };
    let s = || RwSignal::new(String::new());
    let (name, strength, form, ingredients) = (s(), s(), s(), s());
    let (dose, dose_max, unit) = (s(), s(), RwSignal::new("tablet".to_string()));
    let route = RwSignal::new(Route::Oral);
    let times = RwSignal::new(Vec::<&'static str>::new());
    let other_time = s();
    let prn = RwSignal::new(false);
    let (indication, interval_hours, max_24h) = (s(), s(), s());
    let (instructions, prescriber, rest_days, course) = (s(), s(), s(), s());
    let time_critical = RwSignal::new(false);
    let cd = RwSignal::new(String::new());
    let findings = RwSignal::new(Vec::<Finding>::new());
    let busy = RwSignal::new(false);
    let who = move || app.resident.get().map(|r| r.name).unwrap_or_default();

    let draft = move || -> Result<OrderDraft, &'static str> {
        let qty = number(dose).ok_or("Give the dose as a number, for example 1 or 2.5.")?;
        let dose = match number(dose_max) {
            Some(max) => Dose::Range {
                min: Qty::from_f64(qty),
                max: Qty::from_f64(max),
                halves: false,
            },
            None => Dose::Fixed {
                qty: Qty::from_f64(qty),
            },
        };
        let mut at: Vec<NaiveTime> = times
            .get_untracked()
            .iter()
            .filter_map(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())
            .collect();
        let other = other_time.get_untracked();
        if !other.trim().is_empty() {
            at.push(
                NaiveTime::parse_from_str(other.trim(), "%H:%M")
                    .map_err(|_| "Type the other time on the 24-hour clock, as 14:30.")?,
            );
        }
        let protocol = if prn.get_untracked() {
            let hours =
                number(interval_hours).ok_or("Give the least time between doses, in hours.")?;
            let max = number(max_24h).ok_or("Give the most that may be given in 24 hours.")?;
            Some(PrnProtocol {
                indication: indication.get_untracked(),
                min_interval_minutes: (hours * 60.0).round() as u32,
                max_per_24h: Qty::from_f64(max),
                follow_up_minutes: 60,
            })
        } else {
            None
        };
        let rest = rest_days.get_untracked().trim().parse::<u32>().ok();
        let course_text = course.get_untracked();
        let course_days = if course_text.trim().is_empty() {
            None
        } else {
            Some(
                course_text
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| "Give the course as a number of days, or leave it empty.")?,
            )
        };
        Ok(OrderDraft {
            name: name.get_untracked(),
            strength: strength.get_untracked(),
            form: form.get_untracked(),
            ingredients: ingredients
                .get_untracked()
                .split(',')
                .map(str::to_string)
                .collect(),
            dose,
            unit: unit.get_untracked(),
            route: route.get_untracked(),
            times: if protocol.is_some() { vec![] } else { at },
            prn: protocol,
            instructions: instructions.get_untracked(),
            prescriber: prescriber.get_untracked(),
            // From today by the tablet's own clock.
            start: None,
            end: None,
            course_days,
            time_critical: time_critical.get_untracked(),
            cd: match cd.get_untracked().as_str() {
                "2" => Some(CdSchedule::Schedule2),
                "3" => Some(CdSchedule::Schedule3),
                _ => None,
            },
            patch_site_rest_days: rest,
        })
    };
    let save = move || {
        if busy.get_untracked() {
            return;
        }
        let d = match draft() {
            Ok(d) => d,
            Err(msg) => {
                findings.set(vec![]);
                app.say(false, msg);
                return;
            }
        };
        let resident = resident();
        busy.set(true);
        spawn_local(async move {
            let res = call(&EnterOrder {
                resident: resident.clone(),
                draft: d,
            })
            .await;
            busy.set(false);
            match res {
                Ok(done) => {
                    app.open_resident(resident);
                    // Saved, but with an allergy to read: said as a warning, not a success.
                    app.say(done.warnings.is_empty(), done.message);
                }
                Err(e) if e.code == ErrorCode::Blocked => {
                    findings.set(e.findings.clone());
                    app.say(false, e.message);
                    window().scroll_to_with_x_and_y(0.0, 0.0);
                }
                Err(e) => app.fail(e),
            }
        });
    };
    view! {
        <main class="order-form" data-test="order-form">
            <header class="topbar">
                <div>
                    <h1>{move || format!("Write up a medicine for {}", who())}</h1>
                    <p class="muted">"Copy it exactly from the discharge letter or the GP's instruction. It cannot be given until a second trained person has checked it against the letter."</p>
                </div>
                <div class="topbar-right">
                    <button class="secondary" data-test="order-form-back" on:click=move |_| app.open_resident(resident())>"Cancel"</button>
                </div>
            </header>
            <Refusals findings=findings test="order-findings"/>
            <section class="sheet" aria-label="The medicine">
                <div class="form-grid">
                    {text("med-name", "Medicine", name, false)}
                    {text("med-strength", "Strength", strength, false)}
                    {text("med-form", "Form (tablets, oral solution...)", form, false)}
                    {text("med-ingredients", "Active ingredients with the amount in one tablet or ml (paracetamol 500mg, codeine 30mg)", ingredients, false)}
                </div>
                <div class="form-grid">
                    {text("dose", "Dose", dose, true)}
                    {text("dose-max", "Or up to (for a dose such as 1 or 2)", dose_max, true)}
                    {text("dose-unit", "Unit (tablet, ml...)", unit, false)}
                    <div>
                        <label for="route">"Route"</label>
                        <select id="route" data-test="route" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            if let Some((r, _)) = ROUTES.iter().find(|(r, _)| format!("{r:?}") == v) {
                                route.set(*r);
                            }
                        }>
                            {ROUTES.iter().map(|(r, label)| {
                                let r = *r;
                                view! { <option value=format!("{r:?}") selected=move || route.get() == r>{*label}</option> }
                            }).collect_view()}
                        </select>
                    </div>
                </div>
                {move || (route.get() == Route::Transdermal).then(|| text("rest-days", "Days before a patch site is used again", rest_days, true))}
            </section>
            <section class="sheet" aria-label="When it is given">
                <label class="check"><input type="checkbox" data-test="prn" prop:checked=move || prn.get()
                    on:change=move |ev| prn.set(event_target_checked(&ev))/>"When required (PRN), not at set times"</label>
                {move || if prn.get() {
                    view! {
                        <div class="form-grid">
                            {text("prn-indication", "What it is for", indication, false)}
                            {text("prn-interval", "Least hours between doses", interval_hours, true)}
                            {text("prn-max", "Most in 24 hours (in its unit)", max_24h, true)}
                        </div>
                    }.into_any()
                } else {
                    view! {
                        <fieldset>
                            <legend>"Times"</legend>
                            <div class="choices">
                                {ROUND_TIMES.iter().map(|t| {
                                    let t = *t;
                                    view! {
                                        <label class="check"><input type="checkbox" data-test=format!("time-{}", t.replace(':', ""))
                                            prop:checked=move || times.get().contains(&t)
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                times.update(|v| { v.retain(|x| *x != t); if on { v.push(t); } });
                                            }/>{t}</label>
                                    }
                                }).collect_view()}
                            </div>
                            {text("other-time", "Another time (24-hour clock, as 14:30)", other_time, false)}
                        </fieldset>
                    }.into_any()
                }}
                <label class="check"><input type="checkbox" data-test="time-critical" prop:checked=move || time_critical.get()
                    on:change=move |ev| time_critical.set(event_target_checked(&ev))/>"Time-critical (for example a Parkinson's medicine): on time means within 30 minutes"</label>
                <label for="cd">"Controlled drug"</label>
                <select id="cd" data-test="cd" on:change=move |ev| cd.set(event_target_value(&ev))>
                    <option value="">"Not a controlled drug"</option>
                    <option value="2">"Schedule 2"</option>
                    <option value="3">"Schedule 3"</option>
                </select>
            </section>
            <section class="sheet" aria-label="Instructions and prescriber">
                <div class="form-grid">
                    {text("instructions", "Instructions (with food, before breakfast...)", instructions, false)}
                    {text("prescriber", "Prescriber, as on the letter", prescriber, false)}
                    {text("course-days", "For how many days (empty if it goes on)", course, true)}
                </div>
            </section>
            <div class="actions">
                <button class="secondary" on:click=move |_| app.open_resident(resident())>"Cancel"</button>
                <button class="primary" data-test="order-save" disabled=move || busy.get() on:click=move |_| save()>"Save as pending"</button>
            </div>
        </main>
    }
}
