//! Staff and PINs (S19): who is locked out or has no PIN on this tablet, a new PIN set by
//! another senior and typed in by its owner, and how this tablet locks itself.

use crate::ipc::call;
use crate::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use medround_ipc::*;

/// The idle times a manager may choose from, in minutes.
const IDLE_CHOICES: [u32; 7] = [1, 2, 5, 10, 15, 20, 30];

impl AppState {
    pub fn open_staff(self) {
        spawn_local(async move {
            match call(&GetStaffPins {}).await {
                Ok(v) => {
                    self.staff_pins.set(Some(v));
                    self.screen.set(Screen::Staff);
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
