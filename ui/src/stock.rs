//! Stock and the controlled-drugs register: levels, alerts, the reorder list, deliveries,
//! stock checks with a witness.

use crate::ipc::call;
use crate::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use medround_domain::qty::Qty;
use medround_ipc::*;

impl AppState {
    pub fn open_stock(self) {
        spawn_local(async move {
            match call(&GetStock {}).await {
                Ok(v) => {
                    self.stock.set(Some(v));
                    self.screen.set(Screen::Stock);
                }
                Err(e) => self.fail(e),
            }
        });
    }

    pub fn open_register(self, order: String) {
        spawn_local(async move {
            match call(&GetCdRegister { order }).await {
                Ok(v) => {
                    self.register.set(Some(v));
                    self.screen.set(Screen::Register);
                }
                Err(e) => self.fail(e),
            }
        });
    }
}

fn qty(s: &str) -> Option<Qty> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(Qty::from_f64)
}

/// The form for booking in a delivery or checking a CD's stock, for one order.
#[derive(Debug, Clone, PartialEq)]
enum Form {
    Delivery(StockRow),
    Check(StockRow),
}

#[component]
pub fn StockScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    let form = RwSignal::new(None::<Form>);
    let amount = RwSignal::new(String::new());
    let counted = RwSignal::new(String::new());
    let supplier = RwSignal::new(String::new());
    let witness = RwSignal::new(String::new());
    let witness_pin = RwSignal::new(String::new());
    let open_form = move |f: Form| {
        amount.set(String::new());
        counted.set(String::new());
        witness_pin.set(String::new());
        form.set(Some(f));
    };
    let submit = move || {
        let Some(f) = form.get_untracked() else {
            return;
        };
        let w = (!witness.get_untracked().is_empty()).then(|| WitnessPin {
            staff_id: witness.get_untracked(),
            pin: witness_pin.get_untracked(),
        });
        spawn_local(async move {
            let res = match &f {
                Form::Delivery(r) => {
                    let Some(q) = qty(&amount.get_untracked()) else {
                        app.say(false, "Enter how many arrived, as a number.");
                        return;
                    };
                    let c = counted.get_untracked();
                    let counted = if c.trim().is_empty() {
                        None
                    } else {
                        match qty(&c) {
                            Some(v) => Some(v),
                            None => {
                                app.say(false, "The count must be a number.");
                                return;
                            }
                        }
                    };
                    call(&BookDelivery {
                        order: r.order.clone(),
                        quantity: q,
                        counted,
                        supplier: supplier.get_untracked(),
                        witness: w,
                    })
                    .await
                }
                Form::Check(r) => {
                    let (Some(c), Some(w)) = (qty(&counted.get_untracked()), w) else {
                        app.say(
                            false,
                            "Enter the count and choose the witness, who enters their PIN.",
                        );
                        return;
                    };
                    call(&CdStockCheck {
                        order: r.order.clone(),
                        counted: c,
                        witness: w,
                    })
                    .await
                }
            };
            witness_pin.set(String::new());
            match res {
                Ok(r) => {
                    app.say(true, r.message);
                    form.set(None);
                    app.open_stock();
                }
                Err(e) => app.fail(e),
            }
        });
    };
    let export = move || {
        spawn_local(async move {
            match call(&ExportReorderList {}).await {
                Ok(x) => app.say(true, x.message),
                Err(e) => app.fail(e),
            }
        });
    };
    let staff = move || app.home.get().map(|h| h.staff).unwrap_or_default();
    view! {
        <main class="stock" data-test="stock-screen">
            <header class="topbar">
                <div>
                    <h1>"Stock and controlled drugs"</h1>
                    <p class="muted">{move || app.stock.get().map(|s| format!("Reorder list for the cycle {}", s.next_cycle)).unwrap_or_default()}</p>
                </div>
                <div class="topbar-right">
                    <button class="secondary" data-test="export-reorder" on:click=move |_| export()>"Export reorder list (CSV)"</button>
                    <button class="secondary" data-test="stock-back" on:click=move |_| app.screen.set(Screen::Review)>"< Review"</button>
                </div>
            </header>
            {move || app.stock.get().map(|s| view! {
                <section class="totals" aria-label="Stock alerts">
                    <span class="chip missed">{format!("{} none in the home", s.none_in_home)}</span>
                    <span class="chip missed">{format!("{} negative", s.negative)}</span>
                    <span class="chip late">{format!("{} low (under 3 days)", s.low)}</span>
                    <span class="chip due">{format!("{} courses ending", s.ending)}</span>
                </section>
            })}
            {move || form.get().map(|f| {
                let (title, r, check) = match &f {
                    Form::Delivery(r) => (format!("Book in a delivery: {} for {}", r.medicine, r.resident_name), r.clone(), false),
                    Form::Check(r) => (format!("Stock check: {} for {}", r.medicine, r.resident_name), r.clone(), true),
                };
                let label = title.clone();
                view! {
                    <section class="sheet" data-test="stock-form" aria-label=label>
                        <p class="big">{title}</p>
                        {(!check).then(|| view! {
                            <label for="amount">{format!("Quantity received ({})", r.unit)}</label>
                            <input id="amount" inputmode="decimal" data-test="delivery-qty" prop:value=move || amount.get() on:input=move |ev| amount.set(event_target_value(&ev))/>
                            <label for="supplier">"From"</label>
                            <input id="supplier" prop:value=move || supplier.get() on:input=move |ev| supplier.set(event_target_value(&ev))/>
                        })}
                        <label for="counted">{if check { format!("Counted now ({}); the register says {}", r.unit, r.cd_balance.unwrap_or(Qty::ZERO)) } else { format!("Counted on the shelf after putting it away ({}), if counted", r.unit) }}</label>
                        <input id="counted" inputmode="decimal" data-test="count-qty" prop:value=move || counted.get() on:input=move |ev| counted.set(event_target_value(&ev))/>
                        {r.cd.then(|| view! {
                            <label for="witness">"Witness (a second trained person)"</label>
                            <select id="witness" data-test="stock-witness" on:change=move |ev| witness.set(event_target_value(&ev))>
                                <option value="">"Choose the witness"</option>
                                {staff().into_iter().map(|s| view! { <option value=s.id.clone()>{s.name.clone()}</option> }).collect_view()}
                            </select>
                            <label for="witness-pin">"Witness's PIN"</label>
                            <input id="witness-pin" type="password" inputmode="numeric" autocomplete="off" data-test="stock-witness-pin" prop:value=move || witness_pin.get() on:input=move |ev| witness_pin.set(event_target_value(&ev))/>
                        })}
                        <div class="actions">
                            <button class="secondary" on:click=move |_| form.set(None)>"Cancel"</button>
                            <button class="primary" data-test="stock-save" on:click=move |_| submit()>"Save"</button>
                        </div>
                    </section>
                }
            })}
            <table class="records" data-test="stock-table">
                <thead><tr><th scope="col">"Resident"</th><th scope="col">"Medicine"</th><th scope="col">"In stock"</th><th scope="col">"Per day"</th><th scope="col">"Days left"</th><th scope="col">"Alerts"</th><th scope="col">"To order"</th><th scope="col">"Actions"</th></tr></thead>
                <tbody>
                    {move || app.stock.get().map(|s| s.rows.into_iter().map(|r| {
                        let may = s.may_act;
                        let (r1, r2, order) = (r.clone(), r.clone(), r.order.clone());
                        view! {
                            <tr class:alert=!r.alerts.is_empty()>
                                <td>{r.resident_name.clone()}</td>
                                <td>{r.medicine.clone()}{r.cd.then(|| view! { " " <span class="chip cd">"CD"</span> })}</td>
                                <td>{format!("{} {}", r.level, r.unit)}{r.cd_balance.map(|b| format!(" (register {b})"))}</td>
                                <td>{r.per_day.to_string()}</td>
                                <td>{r.days_left.map(|d| d.to_string()).unwrap_or_else(|| "-".into())}</td>
                                <td class="code-LATE">{r.alerts.join("; ")}</td>
                                <td>{r.reorder.to_string()}</td>
                                <td class="row-actions">
                                    {may.then(|| view! { <button class="secondary" on:click=move |_| open_form(Form::Delivery(r1.clone()))>"Book in"</button> })}
                                    {(may && r.cd).then(|| view! { <button class="secondary" data-test=format!("cd-check-{}", r.order) on:click=move |_| open_form(Form::Check(r2.clone()))>"Stock check"</button> })}
                                    {r.cd.then(|| view! { <button class="secondary" on:click=move |_| app.open_register(order.clone())>"Register"</button> })}
                                </td>
                            </tr>
                        }
                    }).collect_view())}
                </tbody>
            </table>
        </main>
    }
}

#[component]
pub fn RegisterScreen() -> impl IntoView {
    let app = expect_context::<AppState>();
    view! {
        <main class="register" data-test="register-screen">
            <header class="topbar">
                <div>
                    <h1>{move || app.register.get().map(|r| format!("Controlled drugs register: {}", r.drug)).unwrap_or_default()}</h1>
                    <p class="muted">{move || app.register.get().map(|r| format!("{} · balance {} {}", r.resident_name, r.balance, r.unit)).unwrap_or_default()}</p>
                </div>
                <div class="topbar-right">
                    <button class="secondary" on:click=move |_| app.open_stock()>"< Stock"</button>
                </div>
            </header>
            <table class="records" data-test="register">
                <thead><tr><th scope="col">"When"</th><th scope="col">"Entry"</th><th scope="col">"Balance"</th><th scope="col">"By"</th><th scope="col">"Witness"</th><th scope="col">"Device"</th></tr></thead>
                <tbody>
                    {move || app.register.get().map(|r| r.rows.into_iter().map(|e| view! {
                        <tr><td>{e.at}</td><td>{e.movement}</td><td>{e.balance.to_string()}</td><td>{e.by}</td><td>{e.witness}</td><td>{e.device}</td></tr>
                    }).collect_view())}
                </tbody>
            </table>
        </main>
    }
}
