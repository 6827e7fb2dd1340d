//! The sync bar, on every screen: online or offline, when the tablet last synced, how many
//! changes wait to go up, progress while a sync runs, and "Sync now". A tablet not yet
//! connected to a central record offers to connect it (the manager's enrolment code).

use crate::ipc::call;
use crate::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use medround_ipc::*;

/// "14:05" from an RFC 3339 time, in the tablet's own time zone.
fn local_time(rfc3339: &str) -> String {
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(rfc3339));
    if d.get_time().is_nan() {
        return rfc3339.to_string();
    }
    format!("{:02}:{:02}", d.get_hours(), d.get_minutes())
}

/// Fetches the sync status. When a sync has finished since the last look, the home is fetched
/// again too: a newly enrolled tablet learns its home and staff that way, and every tablet
/// learns of staff added elsewhere.
fn refresh(app: AppState, status: RwSignal<Option<SyncStatus>>) {
    spawn_local(async move {
        if let Ok(s) = call(&GetSyncStatus {}).await {
            let before = status.get_untracked().and_then(|p| p.last_synced);
            let synced_since = s.last_synced.is_some() && s.last_synced != before;
            status.set(Some(s));
            if synced_since {
                if let Ok(h) = call(&GetHome {}).await {
                    app.home.set(Some(h));
                }
            }
        }
    });
}

#[component]
pub fn SyncBar() -> impl IntoView {
    let app = expect_context::<AppState>();
    let status = RwSignal::new(None::<SyncStatus>);
    let connecting = RwSignal::new(false);
    refresh(app, status);
    set_interval(
        move || refresh(app, status),
        std::time::Duration::from_secs(3),
    );
    let sync_now = move |_| {
        spawn_local(async move {
            match call(&SyncNow {}).await {
                Ok(s) => status.set(Some(s)),
                Err(e) => app.fail(e),
            }
        });
    };
    let summary = move || {
        let s = status.get()?;
        let when = s
            .last_synced
            .as_deref()
            .map(|t| format!("Last synced {}", local_time(t)))
            .unwrap_or_else(|| "Not synced yet".into());
        let waiting = match s.waiting {
            0 => "nothing waiting".to_string(),
            1 => "1 change waiting to go up".to_string(),
            n => format!("{n} changes waiting to go up"),
        };
        Some((s, when, waiting))
    };
    view! {
        <div class="syncbar" role="status" aria-live="polite" data-test="sync-bar">
            {move || match summary() {
                None => view! { <span class="muted">"Sync: checking..."</span> }.into_any(),
                Some((s, _, _)) if !s.enrolled => view! {
                    <span class="sync-dot offline" aria-hidden="true"></span>
                    <span data-test="sync-state">"Not connected to a central record: records stay on this tablet."</span>
                    <button class="secondary" data-test="sync-connect" on:click=move |_| connecting.set(true)>"Connect..."</button>
                }.into_any(),
                Some((s, when, waiting)) => {
                    let state = if s.running {
                        "Syncing".to_string()
                    } else if s.online {
                        "Online".to_string()
                    } else if s.last_error.is_some() {
                        "Offline".to_string()
                    } else {
                        "Waiting to sync".to_string()
                    };
                    let progress = s.progress.clone().map(|p| format!(
                        " · {} round trips, {} documents settled, {} KB",
                        p.round_trips, p.settled, p.bytes / 1024
                    ));
                    view! {
                        <span class="sync-dot" class:online=s.online class:offline=!s.online aria-hidden="true"></span>
                        <span data-test="sync-state"><strong>{state}</strong>{progress}</span>
                        <span data-test="sync-last">{when}</span>
                        <span data-test="sync-waiting">{waiting}</span>
                        {(s.incidents_found > 0).then(|| view! {
                            <span class="chip warn" data-test="sync-incidents">{match s.incidents_found {
                                1 => "1 incident found on merge, for the senior on shift".to_string(),
                                n => format!("{n} incidents found on merge, for the senior on shift"),
                            }}</span>
                        })}
                        {s.last_error.clone().filter(|_| !s.running).map(|e| view! {
                            <span class="sync-error" data-test="sync-error">{e}</span>
                        })}
                        <button class="secondary" data-test="sync-now" disabled=s.running on:click=sync_now>"Sync now"</button>
                    }.into_any()
                }
            }}
        </div>
        {move || connecting.get().then(|| view! { <EnrolPanel status=status open=connecting/> })}
    }
}

#[component]
fn EnrolPanel(status: RwSignal<Option<SyncStatus>>, open: RwSignal<bool>) -> impl IntoView {
    let app = expect_context::<AppState>();
    let server = RwSignal::new(String::from("https://"));
    let code = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let submit = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let res = call(&Enrol {
                server: server.get_untracked(),
                code: code.get_untracked(),
                device_name: name.get_untracked(),
            })
            .await;
            busy.set(false);
            match res {
                Ok(s) => {
                    status.set(Some(s));
                    open.set(false);
                    app.say(
                        true,
                        "Connected to the central record. The first sync has started.",
                    );
                }
                Err(e) => app.fail(e),
            }
        });
    };
    view! {
        <section class="panel enrol" aria-label="Connect to the central record" data-test="enrol-panel">
            <h2>"Connect this tablet to the central record"</h2>
            <p class="muted">"The manager gets a one-time code from the provider's central record."</p>
            <label for="enrol-server">"Server address"</label>
            <input id="enrol-server" type="url" data-test="enrol-server" prop:value=move || server.get()
                on:input=move |ev| server.set(event_target_value(&ev))/>
            <label for="enrol-code">"Enrolment code"</label>
            <input id="enrol-code" type="text" autocomplete="off" data-test="enrol-code" prop:value=move || code.get()
                on:input=move |ev| code.set(event_target_value(&ev))/>
            <label for="enrol-name">"Name of this tablet"</label>
            <input id="enrol-name" type="text" placeholder="Oak unit tablet" data-test="enrol-name" prop:value=move || name.get()
                on:input=move |ev| name.set(event_target_value(&ev))/>
            <div class="actions">
                <button class="primary" data-test="enrol-submit" disabled=move || busy.get() on:click=submit>"Connect"</button>
                <button class="secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            </div>
        </section>
    }
}
