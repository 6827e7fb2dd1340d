//! The tablet's screens, in Leptos (client-side, compiled to wasm). The screens hold no rules:
//! they show what the shell returns and send what the person chose.

mod ipc;
mod orders;
mod resident;
mod residents;
mod review;
mod staff;
mod stock;
mod sync;

use ipc::call;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medround_ipc::*;

#[derive(Debug, Clone, PartialEq)]
pub enum Screen {
    SignIn,
    Round,
    Resident(String),
    Review,
    Audit,
    Stock,
    Register,
    Staff,
    /// Admitting a resident (none) or changing one's details.
    ResidentForm(Option<String>),
    /// Writing up an order by hand for this resident.
    OrderForm(String),
}

/// The app's state, shared by the screens. Every field is a signal, so this is `Copy`.
#[derive(Debug, Clone, Copy)]
pub struct AppState {
    pub screen: RwSignal<Screen>,
    pub home: RwSignal<Option<HomeView>>,
    pub session: RwSignal<Option<SessionView>>,
    pub round: RwSignal<Option<RoundView>>,
    pub resident: RwSignal<Option<ResidentView>>,
    pub review: RwSignal<Option<ReviewView>>,
    pub audit: RwSignal<Option<AuditView>>,
    /// The record the audit trail was opened for, marked in it.
    pub audit_focus: RwSignal<Option<String>>,
    pub stock: RwSignal<Option<StockView>>,
    pub register: RwSignal<Option<CdRegisterView>>,
    pub staff_pins: RwSignal<Option<StaffPinsView>>,
    pub resident_form: RwSignal<Option<ResidentForm>>,
    /// (ok, message) shown in the banner.
    pub flash: RwSignal<Option<(bool, String)>>,
    pub last_activity: RwSignal<f64>,
}

impl AppState {
    pub fn say(&self, ok: bool, msg: impl Into<String>) {
        self.flash.set(Some((ok, msg.into())));
    }

    /// Errors that end the session send the person back to sign in; others show in the banner.
    pub fn fail(&self, e: IpcError) {
        match e.code {
            ErrorCode::NotSignedIn | ErrorCode::SessionLocked => {
                self.session.set(None);
                self.screen.set(Screen::SignIn);
                self.say(false, e.message);
            }
            _ => self.say(false, e.message),
        }
    }

    pub fn load_round(self) {
        spawn_local(async move {
            match call(&GetRound {}).await {
                Ok(r) => self.round.set(Some(r)),
                Err(e) => self.fail(e),
            }
        });
    }

    pub fn open_resident(self, id: String) {
        spawn_local(async move {
            match call(&OpenResident {
                resident: id.clone(),
            })
            .await
            {
                Ok(r) => {
                    self.resident.set(Some(r));
                    self.screen.set(Screen::Resident(id));
                }
                Err(e) => self.fail(e),
            }
        });
    }

    pub fn back_to_round(self) {
        spawn_local(async move {
            self.flash.set(None);
            match call(&LeaveResident {}).await {
                Ok(true) => {
                    self.session.set(None);
                    self.screen.set(Screen::SignIn);
                    self.say(
                        true,
                        "Screen locked after the resident. Sign in for the next one.",
                    );
                }
                // The round is fetched before it is shown, so the cards do not move under a
                // finger that is about to tap one: a tap must open the resident it was aimed at.
                Ok(false) => match call(&GetRound {}).await {
                    Ok(r) => {
                        self.round.set(Some(r));
                        self.screen.set(Screen::Round);
                    }
                    Err(e) => self.fail(e),
                },
                Err(e) => self.fail(e),
            }
        });
    }

    pub fn sign_out(self) {
        spawn_local(async move {
            let _ = call(&SignOut {}).await;
            self.session.set(None);
            self.screen.set(Screen::SignIn);
        });
    }
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[component]
fn App() -> impl IntoView {
    let app = AppState {
        screen: RwSignal::new(Screen::SignIn),
        home: RwSignal::new(None),
        session: RwSignal::new(None),
        round: RwSignal::new(None),
        resident: RwSignal::new(None),
        review: RwSignal::new(None),
        audit: RwSignal::new(None),
        audit_focus: RwSignal::new(None),
        stock: RwSignal::new(None),
        register: RwSignal::new(None),
        staff_pins: RwSignal::new(None),
        resident_form: RwSignal::new(None),
        flash: RwSignal::new(None),
        last_activity: RwSignal::new(now_ms()),
    };
    provide_context(app);
    spawn_local(async move {
        match call(&GetHome {}).await {
            Ok(h) => app.home.set(Some(h)),
            Err(e) => app.say(false, e.message),
        }
    });
    // Lock the screen when left idle (S19). The shell enforces the same limit on every command.
    set_interval(
        move || {
            if let Some(s) = app.session.get_untracked() {
                let idle_ms = f64::from(s.idle_lock_minutes) * 60_000.0;
                if now_ms() - app.last_activity.get_untracked() > idle_ms {
                    app.sign_out();
                    app.say(
                        false,
                        "The screen locked after being left idle. Sign in again.",
                    );
                }
            }
        },
        std::time::Duration::from_secs(15),
    );
    let touch = move |_| app.last_activity.set(now_ms());

    view! {
        <div class="app" on:pointerdown=touch on:keydown=move |_| app.last_activity.set(now_ms())>
            <Banner/>
            <sync::SyncBar/>
            {move || match app.screen.get() {
                Screen::SignIn => view! { <SignInScreen/> }.into_any(),
                Screen::Round => view! { <RoundScreen/> }.into_any(),
                Screen::Resident(_) => view! { <resident::ResidentScreen/> }.into_any(),
                Screen::Review => view! { <review::ReviewScreen/> }.into_any(),
                Screen::Audit => view! { <review::AuditScreen/> }.into_any(),
                Screen::Stock => view! { <stock::StockScreen/> }.into_any(),
                Screen::Register => view! { <stock::RegisterScreen/> }.into_any(),
                Screen::Staff => view! { <staff::StaffScreen/> }.into_any(),
                Screen::ResidentForm(_) => view! { <residents::ResidentFormScreen/> }.into_any(),
                Screen::OrderForm(_) => view! { <orders::OrderFormScreen/> }.into_any(),
            }}
        </div>
    }
}

#[component]
fn Banner() -> impl IntoView {
    let app = expect_context::<AppState>();
    view! {
        {move || app.flash.get().map(|(ok, msg)| view! {
            <div class="banner" class:ok=ok class:bad=!ok role="alert" data-test="banner">
                <span>{msg}</span>
                <button class="link" aria-label="Dismiss message" on:click=move |_| app.flash.set(None)>"Dismiss"</button>
            </div>
        })}
    }
}

#[component]
fn SignInScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    let chosen = RwSignal::new(None::<StaffCard>);
    let pin = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let submit = move || {
        let Some(s) = chosen.get_untracked() else {
            return;
        };
        let p = pin.get_untracked();
        if p.is_empty() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let res = call(&SignIn {
                staff_id: s.id.clone(),
                pin: p,
            })
            .await;
            busy.set(false);
            pin.set(String::new());
            match res {
                Ok(sess) => {
                    app.session.set(Some(sess));
                    app.flash.set(None);
                    app.last_activity.set(now_ms());
                    app.screen.set(Screen::Round);
                    app.load_round();
                }
                Err(e) => app.fail(e),
            }
        });
    };
    let digit = move |d: &'static str| {
        view! {
            <button class="key" aria-label=format!("Digit {d}") data-test=format!("key-{d}")
                on:click=move |_| pin.update(|p| if p.len() < 8 { p.push_str(d) })>{d}</button>
        }
    };
    view! {
        <main class="signin" data-test="signin-screen">
            <header class="brand">
                <img src="icon.png" alt="" class="logo"/>
                <div>
                    <h1>{move || app.home.get().map(|h| h.name).unwrap_or_else(|| "Medround".into())}</h1>
                    <p class="muted">"Medication round. Choose your name, then enter your PIN."</p>
                </div>
            </header>
            {move || app.home.get().filter(|h| h.demo).map(|_| view! {
                <p class="demo-note">"Training home with made-up residents. Demo PINs are listed in the README."</p>
            })}
            <div class="signin-grid">
                <section aria-label="Staff">
                    <h2>"Who are you?"</h2>
                    {move || app.home.get().filter(|h| h.staff.is_empty()).map(|_| view! {
                        <p class="demo-note" data-test="empty-tablet">"This tablet holds no home yet. A manager connects it to the central record (above); the home, its residents and its staff then arrive with the first sync."</p>
                    })}
                    <ul class="staff-list">
                        {move || app.home.get().map(|h| h.staff).unwrap_or_default().into_iter().map(|s| {
                            let s2 = s.clone();
                            let id = s.id.clone();
                            view! {
                                <li>
                                    <button class="staff" data-test=format!("staff-{}", s.id)
                                        class:selected=move || chosen.get().map(|c| c.id == id).unwrap_or(false)
                                        on:click=move |_| { chosen.set(Some(s2.clone())); pin.set(String::new()); }>
                                        <span class="initials" aria-hidden="true">{s.initials.clone()}</span>
                                        <span class="staff-name">{s.name.clone()}</span>
                                        <span class="muted">{s.role_label.clone()}</span>
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
                <section aria-label="PIN" class="pin-pad">
                    <h2>{move || chosen.get().map(|c| format!("PIN for {}", c.name)).unwrap_or_else(|| "PIN".into())}</h2>
                    <label class="sr-only" for="pin">"PIN"</label>
                    <input id="pin" type="password" inputmode="numeric" autocomplete="off" data-test="pin"
                        prop:value=move || pin.get()
                        disabled=move || chosen.get().is_none()
                        on:input=move |ev| pin.set(event_target_value(&ev).chars().filter(|c| c.is_ascii_digit()).take(8).collect())
                        on:keydown=move |ev| if ev.key() == "Enter" { submit() }/>
                    <div class="keys">
                        {digit("1")}{digit("2")}{digit("3")}
                        {digit("4")}{digit("5")}{digit("6")}
                        {digit("7")}{digit("8")}{digit("9")}
                        <button class="key" aria-label="Clear" on:click=move |_| pin.set(String::new())>"Clear"</button>
                        {digit("0")}
                        <button class="key primary" data-test="sign-in" aria-label="Sign in"
                            disabled=move || chosen.get().is_none() || busy.get()
                            on:click=move |_| submit()>"Sign in"</button>
                    </div>
                </section>
            </div>
        </main>
    }
}

#[component]
fn RoundScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    view! {
        <main class="round" data-test="round-screen">
            <header class="topbar">
                <div>
                    <h1>{move || app.round.get().map(|r| r.home).unwrap_or_default()}</h1>
                    <p class="muted" data-test="clock">{move || app.round.get().map(|r| r.now_local).unwrap_or_default()}</p>
                </div>
                <div class="topbar-right">
                    {move || app.round.get().filter(|r| r.open_incidents > 0).map(|r| view! {
                        <span class="chip warn" data-test="incidents">{format!("{} open incident{}", r.open_incidents, if r.open_incidents == 1 { "" } else { "s" })}</span>
                    })}
                    {move || app.session.get().filter(|s| s.staff.role != medround_domain::staff::Role::Carer).map(|_| view! {
                        <button class="secondary" data-test="open-review" on:click=move |_| app.open_review(None, None)>"Review"</button>
                    })}
                    {move || app.session.get().filter(|s| s.staff.role.is_senior()).map(|_| view! {
                        <button class="secondary" data-test="open-staff" on:click=move |_| app.open_staff()>"Staff and PINs"</button>
                        <button class="secondary" data-test="admit-resident" on:click=move |_| app.open_resident_form(None)>"Admit a resident"</button>
                    })}
                    <span class="who">{move || app.session.get().map(|s| format!("{} · {}", s.staff.name, s.staff.role_label)).unwrap_or_default()}</span>
                    <button class="secondary" data-test="refresh-round" on:click=move |_| app.load_round()>"Refresh"</button>
                    <button class="secondary" data-test="sign-out" on:click=move |_| app.sign_out()>"Lock"</button>
                </div>
            </header>
            {move || app.round.get().map(|r| r.units.into_iter().map(|u| view! {
                <section class="unit" aria-label=u.name.clone()>
                    <h2>{u.name.clone()}
                        <span class="counts">
                            <span class="chip due">{format!("{} due", u.due_now)}</span>
                            <span class="chip late">{format!("{} late", u.late)}</span>
                            <span class="chip missed">{format!("{} missed", u.missed)}</span>
                            {(u.time_critical_soon > 0).then(|| view! { <span class="chip critical">{format!("{} time-critical", u.time_critical_soon)}</span> })}
                        </span>
                    </h2>
                    <ul class="cards">
                        {u.residents.into_iter().map(|c| {
                            let id = c.id.clone();
                            let label = format!("{}, room {}", c.name, c.room);
                            view! {
                                <li>
                                    <button class="card" data-test=format!("resident-{}", c.id) aria-label=label
                                        class:away=c.away.is_some()
                                        on:click=move |_| app.open_resident(id.clone())>
                                        <img class="photo" src=c.photo.clone().unwrap_or_default() alt=""/>
                                        <span class="card-body">
                                            <span class="card-name">{c.name.clone()}</span>
                                            <span class="muted">{format!("Room {}", c.room)}{c.preferred_name.clone().map(|p| format!(" · \u{201c}{p}\u{201d}"))}</span>
                                            <span class="badges">
                                                {c.away.clone().map(|a| view! { <span class="chip away">{a}</span> })}
                                                {c.locked_for_reconciliation.then(|| view! { <span class="chip missed">"Locked: reconcile"</span> })}
                                                {(c.time_critical_soon > 0).then(|| view! { <span class="chip critical">"Time-critical"</span> })}
                                                {(c.late > 0).then(|| view! { <span class="chip late">{format!("{} late", c.late)}</span> })}
                                                {(c.due_now > 0).then(|| view! { <span class="chip due">{format!("{} due", c.due_now)}</span> })}
                                                {(c.missed > 0).then(|| view! { <span class="chip missed">{format!("{} missed", c.missed)}</span> })}
                                            </span>
                                        </span>
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            }).collect_view())}
            {move || app.round.get().filter(|r| !r.left.is_empty()).filter(|_| app.session.get().is_some_and(|s| s.staff.role.is_senior())).map(|r| view! {
                <details class="left-home" data-test="left-home">
                    <summary>{format!("Left the home ({})", r.left.len())}</summary>
                    <ul class="cards">
                        {r.left.into_iter().map(|c| {
                            let id = c.id.clone();
                            view! {
                                <li>
                                    <button class="card" data-test=format!("resident-{}", c.id) aria-label=format!("{}, {}", c.name, c.away.clone().unwrap_or_default())
                                        on:click=move |_| app.open_resident(id.clone())>
                                        <img class="photo" src=c.photo.clone().unwrap_or_default() alt=""/>
                                        <span class="card-body">
                                            <span class="card-name">{c.name.clone()}</span>
                                            <span class="muted">{c.away.clone().unwrap_or_default()}</span>
                                        </span>
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </details>
            })}
        </main>
    }
}

fn main() {
    console_error_panic_hook::set_once();
    mount_to_body(App);
}
