//! Staff and PINs (S19): who is locked out or has no PIN on this tablet, a new PIN set by
//! another senior and typed in by its owner, and how this tablet locks itself.

use crate::ipc::call;
use crate::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use medround_domain::staff::Role;
use medround_ipc::*;

/// The idle times a manager may choose from, in minutes.
const IDLE_CHOICES: [u32; 7] = [1, 2, 5, 10, 15, 20, 30];

const ROLES: [(Role, &str); 4] = [
    (Role::Carer, "Care worker"),
    (Role::Senior, "Senior carer"),
    (Role::Manager, "Manager"),
    (Role::Auditor, "Auditor (read only)"),
];

/// The details form for a member of staff: a new one (no id), or one being changed.
#[derive(Debug, Clone, PartialEq)]
struct Details {
    id: Option<String>,
    name: RwSignal<String>,
    initials: RwSignal<String>,
    role: RwSignal<Role>,
    trained: RwSignal<bool>,
    homely: RwSignal<bool>,
}

impl Details {
    fn new(row: Option<&StaffPinRow>) -> Details {
        Details {
            id: row.map(|r| r.staff.id.clone()),
            name: RwSignal::new(row.map(|r| r.staff.name.clone()).unwrap_or_default()),
            initials: RwSignal::new(row.map(|r| r.staff.initials.clone()).unwrap_or_default()),
            role: RwSignal::new(row.map(|r| r.staff.role).unwrap_or(Role::Carer)),
            trained: RwSignal::new(row.map(|r| r.medication_trained).unwrap_or(true)),
            homely: RwSignal::new(row.map(|r| r.homely_authorised).unwrap_or(false)),
        }
    }

    fn command(&self) -> SaveStaff {
        SaveStaff {
            id: self.id.clone(),
            name: self.name.get_untracked(),
            initials: self.initials.get_untracked(),
            role: self.role.get_untracked(),
            medication_trained: self.trained.get_untracked(),
            homely_authorised: self.homely.get_untracked(),
            active: true,
        }
    }
}

impl AppState {
    pub fn open_staff(self) {
        spawn_local(async move {
            match call(&GetStaffPins {}).await {
                Ok(v) => {
                    self.staff_pins.set(Some(v));
                    // Set only when coming from elsewhere: setting it again would build the
                    // screen afresh and drop a form it has open.
                    if self.screen.get_untracked() != Screen::Staff {
                        self.screen.set(Screen::Staff);
                    }
                }
                Err(e) => self.fail(e),
            }
        });
    }
}

#[component]
pub fn StaffScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    // The person whose PIN is being set: (id, name).
    let resetting = RwSignal::new(None::<(String, String)>);
    let pin = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let idle = RwSignal::new(String::new());
    let each = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(v) = app.staff_pins.get() {
            idle.set(v.idle_lock_minutes.to_string());
            each.set(v.lock_after_each_resident);
        }
    });
    let details = RwSignal::new(None::<Details>);
    // The person about to be marked as having left the home, asked to confirm first.
    let leaving = RwSignal::new(None::<StaffPinRow>);
    let save_staff = move |cmd: SaveStaff, then_pin: bool| {
        spawn_local(async move {
            let name = cmd.name.trim().to_string();
            match call(&cmd).await {
                Ok(saved) => {
                    details.set(None);
                    leaving.set(None);
                    app.say(true, saved.message);
                    // The sign-in screen lists the home's staff: it shows the change at once.
                    if let Ok(h) = call(&GetHome {}).await {
                        app.home.set(Some(h));
                    }
                    app.open_staff();
                    if then_pin {
                        pin.set(String::new());
                        again.set(String::new());
                        resetting.set(Some((saved.id, name)));
                    }
                }
                Err(e) => app.fail(e),
            }
        });
    };
    let start_reset = move |id: String, name: String| {
        pin.set(String::new());
        again.set(String::new());
        resetting.set(Some((id, name)));
    };
    let save_pin = move || {
        let Some((id, _)) = resetting.get_untracked() else {
            return;
        };
        let (p, a) = (pin.get_untracked(), again.get_untracked());
        if p != a {
            again.set(String::new());
            app.say(
                false,
                "The two PINs are not the same. Type the new PIN again.",
            );
            return;
        }
        spawn_local(async move {
            let res = call(&ResetPin {
                staff_id: id,
                pin: p,
            })
            .await;
            pin.set(String::new());
            again.set(String::new());
            match res {
                Ok(d) => {
                    resetting.set(None);
                    app.say(true, d.message);
                    app.open_staff();
                }
                Err(e) => app.fail(e),
            }
        });
    };
    let save_lock = move || {
        let Ok(minutes) = idle.get_untracked().parse::<u32>() else {
            app.say(
                false,
                "Choose after how many idle minutes the tablet locks.",
            );
            return;
        };
        let after_each = each.get_untracked();
        spawn_local(async move {
            match call(&SetScreenLock {
                idle_lock_minutes: minutes,
                lock_after_each_resident: after_each,
            })
            .await
            {
                Ok(d) => {
                    // The screen's own idle timer follows the new setting at once.
                    app.session.update(|s| {
                        if let Some(s) = s {
                            s.idle_lock_minutes = minutes;
                            s.lock_after_each_resident = after_each;
                        }
                    });
                    app.say(true, d.message);
                    app.open_staff();
                }
                Err(e) => app.fail(e),
            }
        });
    };
    view! {
        <main class="staff" data-test="staff-screen">
            <header class="topbar">
                <div>
                    <h1>"Staff and PINs"</h1>
                    <p class="muted">"Set a new PIN for someone locked out or without one. They type it in themselves; nobody else should know it."</p>
                </div>
                <div class="topbar-right">
                    <button class="secondary" data-test="staff-back" on:click=move |_| app.back_to_round()>"< Round"</button>
                </div>
            </header>
            {move || app.staff_pins.get().filter(|v| v.may_edit_staff).map(|_| view! {
                <div class="actions">
                    <button class="secondary" data-test="add-staff" on:click=move |_| details.set(Some(Details::new(None)))>"Add a member of staff"</button>
                </div>
            })}
            {move || details.get().map(|d| {
                let title = if d.id.is_some() { format!("Details of {}", d.name.get_untracked()) } else { "A new member of staff".to_string() };
                let label = title.clone();
                let (d1, d2) = (d.clone(), d.clone());
                view! {
                    <section class="sheet" data-test="staff-form" aria-label=label>
                        <p class="big">{title}</p>
                        <label for="staff-name">"Full name"</label>
                        <input id="staff-name" data-test="staff-name" autocomplete="off" prop:value=move || d.name.get() on:input=move |ev| d.name.set(event_target_value(&ev))/>
                        <label for="staff-initials">"Initials (for the printed MAR)"</label>
                        <input id="staff-initials" data-test="staff-initials" autocomplete="off" prop:value=move || d.initials.get() on:input=move |ev| d.initials.set(event_target_value(&ev))/>
                        <label for="staff-role">"Role"</label>
                        <select id="staff-role" data-test="staff-role" on:change=move |ev| {
                            let v = event_target_value(&ev);
                            if let Some((r, _)) = ROLES.iter().find(|(r, _)| format!("{r:?}") == v) {
                                d.role.set(*r);
                            }
                        }>
                            {ROLES.iter().map(|(r, label)| {
                                let r = *r;
                                view! { <option value=format!("{r:?}") selected=move || d.role.get() == r>{*label}</option> }
                            }).collect_view()}
                        </select>
                        <label class="check"><input type="checkbox" data-test="staff-trained" prop:checked=move || d.trained.get()
                            on:change=move |ev| d.trained.set(event_target_checked(&ev))/>"Trained to give medicines (and to witness controlled drugs)"</label>
                        <label class="check"><input type="checkbox" data-test="staff-homely" prop:checked=move || d.homely.get()
                            on:change=move |ev| d.homely.set(event_target_checked(&ev))/>"Authorised to give homely remedies"</label>
                        <div class="actions">
                            <button class="secondary" on:click=move |_| details.set(None)>"Cancel"</button>
                            <button class="primary" data-test="staff-save" on:click=move |_| save_staff(d1.command(), d2.id.is_none())>"Save"</button>
                        </div>
                    </section>
                }
            })}
            {move || leaving.get().map(|r| {
                let name = r.staff.name.clone();
                let label = format!("{name} has left the home");
                let button = label.clone();
                let cmd = SaveStaff {
                    id: Some(r.staff.id.clone()),
                    name: r.staff.name.clone(),
                    initials: r.staff.initials.clone(),
                    role: r.staff.role,
                    medication_trained: r.medication_trained,
                    homely_authorised: r.homely_authorised,
                    active: false,
                };
                view! {
                    <section class="sheet" data-test="leaver-form" aria-label=label>
                        <p class="big">{format!("Has {name} left the home?")}</p>
                        <p>{format!("{name}'s PIN will stop working on every tablet of the home. Their records keep their name.")}</p>
                        <div class="actions">
                            <button class="secondary" on:click=move |_| leaving.set(None)>"Cancel"</button>
                            <button class="primary" data-test="leaver-confirm" on:click=move |_| save_staff(cmd.clone(), false)>{button}</button>
                        </div>
                    </section>
                }
            })}
            {move || resetting.get().map(|(_, name)| {
                let label = format!("New PIN for {name}");
                let title = label.clone();
                view! {
                    <section class="sheet" data-test="pin-form" aria-label=label>
                        <p class="big">{title}</p>
                        <p class="muted">{format!("Hand the tablet to {name} to type it: 4 to 8 digits, not 1111 or 1234.")}</p>
                        <label for="new-pin">"New PIN"</label>
                        <input id="new-pin" data-test="new-pin" type="password" inputmode="numeric" autocomplete="off"
                            prop:value=move || pin.get() on:input=move |ev| pin.set(event_target_value(&ev))/>
                        <label for="new-pin-again">"The same PIN again"</label>
                        <input id="new-pin-again" data-test="new-pin-again" type="password" inputmode="numeric" autocomplete="off"
                            prop:value=move || again.get() on:input=move |ev| again.set(event_target_value(&ev))/>
                        <div class="actions">
                            <button class="secondary" on:click=move |_| resetting.set(None)>"Cancel"</button>
                            <button class="primary" data-test="pin-save" on:click=move |_| save_pin()>"Set PIN"</button>
                        </div>
                    </section>
                }
            })}
            <table class="records" data-test="staff-table">
                <thead><tr><th scope="col">"Name"</th><th scope="col">"Role"</th><th scope="col">"PIN on this tablet"</th><th scope="col">"Last reset"</th><th scope="col">"Action"</th></tr></thead>
                <tbody>
                    {move || app.staff_pins.get().map(|v| v.rows.into_iter().map(|r| {
                        let (id, name) = (r.staff.id.clone(), r.staff.name.clone());
                        let me = app.session.get_untracked().map(|s| s.staff.id) == Some(r.staff.id.clone());
                        let edit = v.may_edit_staff;
                        let (r1, r2) = (r.clone(), r.clone());
                        let who = r.staff.name.clone();
                        let state = if r.locked {
                            "Locked: too many wrong PINs"
                        } else if r.has_pin {
                            "Set"
                        } else {
                            "None yet"
                        };
                        view! {
                            <tr data-test=format!("staff-row-{}", r.staff.id)>
                                <td>{r.staff.name.clone()}</td>
                                <td>{r.staff.role_label.clone()}</td>
                                <td class:code-MISSED=r.locked>{state}</td>
                                <td>{r.last_reset.clone().unwrap_or_default()}</td>
                                <td class="row-actions">
                                    {r.may_reset.then(|| view! {
                                        <button class="secondary" data-test=format!("reset-{}", r.staff.id)
                                            aria-label=format!("Set a new PIN for {name}")
                                            on:click=move |_| start_reset(id.clone(), name.clone())>"Set new PIN"</button>
                                    })}
                                    {edit.then(|| view! {
                                        <button class="secondary" data-test=format!("edit-{}", r1.staff.id)
                                            aria-label=format!("Change the details of {who}")
                                            on:click=move |_| details.set(Some(Details::new(Some(&r1))))>"Details"</button>
                                    })}
                                    {(edit && !me).then(|| view! {
                                        <button class="secondary" data-test=format!("left-{}", r2.staff.id)
                                            aria-label=format!("{} has left the home", r2.staff.name)
                                            on:click=move |_| leaving.set(Some(r2.clone()))>"Has left"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view())}
                </tbody>
            </table>
            {move || app.staff_pins.get().map(|v| view! {
                <section class="lock" data-test="screen-lock" aria-label="How this tablet locks">
                    <h2>"How this tablet locks"</h2>
                    {if v.may_change_lock {
                        view! {
                            <label for="idle-minutes">"Lock after this many idle minutes"</label>
                            <select id="idle-minutes" data-test="idle-minutes" on:change=move |ev| idle.set(event_target_value(&ev))>
                                {IDLE_CHOICES.iter().map(|m| {
                                    let m = *m;
                                    view! { <option value=m.to_string() selected=move || idle.get() == m.to_string()>{m.to_string()}</option> }
                                }).collect_view()}
                            </select>
                            <label class="check"><input type="checkbox" data-test="lock-each-resident" prop:checked=move || each.get()
                                on:change=move |ev| each.set(event_target_checked(&ev))/>"Also lock after each resident"</label>
                            <div class="actions">
                                <button class="primary" data-test="lock-save" on:click=move |_| save_lock()>"Save"</button>
                            </div>
                        }.into_any()
                    } else {
                        view! {
                            <p>{format!(
                                "Locks after {} idle minutes{}. Only a manager changes this.",
                                v.idle_lock_minutes,
                                if v.lock_after_each_resident { " and after each resident" } else { "" }
                            )}</p>
                        }.into_any()
                    }}
                </section>
            })}
        </main>
    }
}
