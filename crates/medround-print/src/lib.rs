//! The printed MAR chart: per resident, the 28-day grid of every order with each slot's outcome
//! and initials, the code key, the when-required and controlled-drug sections, allergies and a
//! photo header, as an A4 landscape PDF that stays legible in black and white.
//!
//! Pure: data in, bytes out. No IO, no clock (`now` is passed in), no SQL.

pub mod pdf;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use medround_domain::cd::{CdEntry, CdMovement};
use medround_domain::fact::{standing_facts, DoseFact};
use medround_domain::order::{Order, OrderStatus, Schedule};
use medround_domain::outcome::OutcomeCode;
use medround_domain::record::{Administration, PrnFollowUp, Subject};
use medround_domain::resident::Resident;
use medround_domain::review::slot_facts;
use medround_domain::schedule::{local_to_utc, window};
use pdf::{Font, Page, PAGE_H, PAGE_W};
use std::collections::HashMap;

/// Days on one chart: a pharmacy cycle.
pub const CYCLE_DAYS: i64 = 28;

/// Everything one resident's chart shows.
#[derive(Debug)]
pub struct MarInput<'a> {
    pub home: &'a str,
    pub unit: &'a str,
    pub resident: &'a Resident,
    /// The resident's orders; pending ones (S16) are left off the chart.
    pub orders: &'a [Order],
    /// Every administration of the cycle (corrections included; voided records do not show).
    pub facts: &'a [DoseFact],
    /// The when-required and homely-remedy records of the cycle, whole, for the PRN section.
    pub prn: &'a [Administration],
    pub follow_ups: &'a [PrnFollowUp],
    /// The resident's controlled-drug register entries of the cycle.
    pub cd: &'a [CdEntry],
    /// Staff initials by staff id.
    pub initials: &'a HashMap<String, String>,
    /// Homely remedy names by remedy id.
    pub remedies: &'a HashMap<String, String>,
    pub start: NaiveDate,
    pub now: DateTime<Utc>,
    pub tz: Tz,
}

/// The letter printed in a grid cell for each outcome; a dose given shows the giver's initials.
pub fn cell_code(o: OutcomeCode) -> &'static str {
    match o {
        OutcomeCode::Given => "",
        OutcomeCode::SelfAdministered => "S",
        OutcomeCode::Refused => "R",
        OutcomeCode::Asleep => "A",
        OutcomeCode::Nausea => "N",
        OutcomeCode::Hospital => "H",
        OutcomeCode::Leave => "L",
        OutcomeCode::NotRequired => "NR",
        OutcomeCode::Withheld => "W",
        OutcomeCode::Destroyed => "D",
        OutcomeCode::NoStock => "NS",
        OutcomeCode::Other => "O",
        OutcomeCode::Missed => "M",
        OutcomeCode::EnteredInError => "X",
    }
}

/// What one grid cell shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// No dose due this day.
    NotDue,
    /// Due later, or its window is still open.
    Blank,
    /// Given: the giver's initials, and whether it was late (S3).
    Given { initials: String, late: bool },
    /// A not-given code; MISSED is printed on grey.
    Code(OutcomeCode),
    /// When-required doses given that day.
    Prn { count: u32, initials: String },
}

/// One row of the grid: an order at one of its times (or its when-required row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub order: usize,
    /// "08:00", or "PRN".
    pub time: String,
    pub cells: Vec<Cell>,
}

/// A slot of the grid and the record that stands for it.
type SlotCell<'a> = (DateTime<Utc>, Option<&'a DoseFact>);

/// The grid of one resident's cycle: the orders shown and their rows.
pub fn grid<'a>(input: &MarInput<'a>) -> (Vec<&'a Order>, Vec<Row>) {
    let tz = input.tz;
    let midnight = |d: NaiveDate| local_to_utc(tz, d.and_hms_opt(0, 0, 0).expect("midnight"));
    let from = midnight(input.start);
    let to = midnight(input.start + Duration::days(CYCLE_DAYS));
    let mut prn_by_day: HashMap<(&str, NaiveDate), Vec<&DoseFact>> = HashMap::new();
    for f in standing_facts(input.facts) {
        if let (Some(o), None, true) = (&f.order, f.slot, f.outcome.is_taken()) {
            prn_by_day
                .entry((o.as_str(), f.occurred_at.with_timezone(&tz).date_naive()))
                .or_default()
                .push(f);
        }
    }
    let initials = |id: &str| {
        input
            .initials
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.chars().take(2).collect())
    };
    let days: Vec<NaiveDate> = (0..CYCLE_DAYS)
        .map(|i| input.start + Duration::days(i))
        .collect();
    let orders: Vec<&Order> = input
        .orders
        .iter()
        .filter(|o| o.status != OrderStatus::Pending)
        .filter(|o| o.start < input.start + Duration::days(CYCLE_DAYS))
        .filter(|o| o.end.is_none_or(|e| e >= input.start))
        .collect();
    let mut rows = Vec::new();
    for (i, o) in orders.iter().enumerate() {
        let stopped = match &o.status {
            OrderStatus::Discontinued { at, .. } => Some(*at),
            _ => None,
        };
        if o.is_prn() {
            let cells = days
                .iter()
                .map(|d| match prn_by_day.get(&(o.id.as_str(), *d)) {
                    Some(v) => Cell::Prn {
                        count: v.len() as u32,
                        initials: initials(v[0].author.as_str()),
                    },
                    None if o.runs_on(*d) => Cell::Blank,
                    None => Cell::NotDue,
                })
                .collect();
            rows.push(Row {
                order: i,
                time: "PRN".into(),
                cells,
            });
            continue;
        }
        // Each slot of the cycle and the record that stands for it, by local day and time.
        let slots: HashMap<(NaiveDate, NaiveTime), SlotCell<'_>> =
            slot_facts(o, input.facts, from, to, tz)
                .into_iter()
                .filter(|(at, _)| stopped.is_none_or(|s| *at < s))
                .map(|(at, f)| {
                    let l = at.with_timezone(&tz);
                    ((l.date_naive(), l.time()), (at, f))
                })
                .collect();
        for t in o.schedule.times() {
            let cells = days
                .iter()
                .map(|d| {
                    let Some(&(at, fact)) = slots.get(&(*d, *t)) else {
                        return Cell::NotDue;
                    };
                    match fact {
                        Some(f) if f.outcome == OutcomeCode::Given => Cell::Given {
                            initials: initials(f.author.as_str()),
                            late: f.late,
                        },
                        Some(f) => Cell::Code(f.outcome),
                        None if window(o, at, tz).closes <= input.now => {
                            Cell::Code(OutcomeCode::Missed)
                        }
                        None => Cell::Blank,
                    }
                })
                .collect();
            rows.push(Row {
                order: i,
                time: t.format("%H:%M").to_string(),
                cells,
            });
        }
    }
    (orders, rows)
}

const M: f32 = 22.0;
const MED_W: f32 = 206.0;
const TIME_W: f32 = 30.0;
const GRID_X: f32 = M + MED_W + TIME_W;
const DAY_W: f32 = (PAGE_W - M - GRID_X) / CYCLE_DAYS as f32;
const ROW_H: f32 = 12.0;
const GRID_TOP: f32 = 92.0;
const HEAD_H: f32 = 20.0;
/// The code key takes the bottom of every page.
const KEY_TOP: f32 = PAGE_H - M - 50.0;

/// One resident's chart as pages (not yet numbered: `document` numbers them).
fn resident_pages(input: &MarInput<'_>) -> Vec<Page> {
    let (orders, rows) = grid(input);
    let mut pages = Vec::new();
    let mut page = new_page(input);
    let mut y = GRID_TOP + HEAD_H;
    let mut i = 0;
    while i < rows.len() {
        let o = rows[i].order;
        let n = rows[i..].iter().take_while(|r| r.order == o).count();
        let row_h = if n == 1 { 2.0 * ROW_H } else { ROW_H };
        let block = row_h * n as f32;
        if y + block > KEY_TOP - 6.0 && y > GRID_TOP + HEAD_H {
            pages.push(std::mem::replace(&mut page, new_page(input)));
            y = GRID_TOP + HEAD_H;
        }
        draw_order(&mut page, orders[o], &rows[i..i + n], y, row_h, input);
        y += block;
        i += n;
    }
    if rows.is_empty() {
        page.text(
            M,
            y + 14.0,
            9.0,
            Font::Regular,
            "No orders on this chart in this cycle.",
        );
        y += 20.0;
    }
    // The when-required and controlled-drug sections follow the grid, on new pages as needed.
    let lines = section_lines(input);
    y += 14.0;
    for (font, text) in lines {
        if y + 11.0 > KEY_TOP - 6.0 {
            pages.push(std::mem::replace(&mut page, new_page_without_grid(input)));
            y = GRID_TOP;
        }
        page.text_fit(M, y, 7.5, font, &text, PAGE_W - 2.0 * M);
        y += if font == Font::Bold { 12.0 } else { 10.0 };
    }
    pages.push(page);
    pages
}

fn new_page(input: &MarInput<'_>) -> Page {
    let mut p = new_page_without_grid(input);
    draw_grid_head(&mut p, input);
    p
}

fn new_page_without_grid(input: &MarInput<'_>) -> Page {
    let mut p = Page::default();
    draw_header(&mut p, input);
    draw_key(&mut p);
    p
}

fn draw_header(p: &mut Page, input: &MarInput<'_>) {
    let r = input.resident;
    // The photo: the resident's avatar, drawn as the app draws it (initials on a dark square),
    // so that the chart shows whose it is even printed in black and white.
    p.fill(M, M, 52.0, 52.0, 0.25);
    let initials: String = [&r.given_name, &r.family_name]
        .iter()
        .filter_map(|s| s.chars().next())
        .collect();
    let w = pdf::text_width(&initials, 20.0, Font::Bold);
    p.text_white(M + 26.0 - w / 2.0, M + 34.0, 20.0, Font::Bold, &initials);
    let x = M + 62.0;
    let name = match &r.preferred_name {
        Some(n) => format!("{} (\u{201c}{n}\u{201d})", r.full_name()),
        None => r.full_name(),
    };
    p.text(x, M + 14.0, 15.0, Font::Bold, &name);
    let today = input.now.with_timezone(&input.tz).date_naive();
    let age = today.years_since(r.date_of_birth).unwrap_or(0);
    p.text(
        x,
        M + 28.0,
        9.0,
        Font::Regular,
        &format!(
            "Born {} (aged {age})   NHS number {}   Room {}, {}",
            r.date_of_birth.format("%-d %b %Y"),
            medround_domain::checks::format_nhs_number(&r.nhs_number),
            r.room,
            input.unit
        ),
    );
    let allergies = if r.allergies.is_empty() {
        "No known allergies".to_string()
    } else {
        r.allergies
            .iter()
            .map(|a| format!("{} ({})", a.substance.to_uppercase(), a.reaction))
            .collect::<Vec<_>>()
            .join(", ")
    };
    p.text(x, M + 42.0, 9.0, Font::Bold, "ALLERGIES:");
    let after = x + pdf::text_width("ALLERGIES: ", 9.0, Font::Bold);
    p.text_fit(after, M + 42.0, 9.0, Font::Bold, &allergies, 420.0);
    let right = PAGE_W - M - 230.0;
    p.text(
        right,
        M + 14.0,
        11.0,
        Font::Bold,
        "Medication administration record",
    );
    p.text_fit(right, M + 28.0, 9.0, Font::Regular, input.home, 230.0);
    let end = input.start + Duration::days(CYCLE_DAYS - 1);
    p.text(
        right,
        M + 42.0,
        9.0,
        Font::Regular,
        &format!(
            "Cycle {} to {}",
            input.start.format("%-d %b"),
            end.format("%-d %b %Y")
        ),
    );
    p.line(M, M + 58.0, PAGE_W - M, M + 58.0, 0.8);
}

fn draw_grid_head(p: &mut Page, input: &MarInput<'_>) {
    let top = GRID_TOP;
    p.fill(M, top, PAGE_W - 2.0 * M, HEAD_H, 0.85);
    p.text(
        M + 3.0,
        top + 13.0,
        8.0,
        Font::Bold,
        "Medicine, dose, route, instructions",
    );
    p.text(M + MED_W + 3.0, top + 13.0, 8.0, Font::Bold, "Time");
    for i in 0..CYCLE_DAYS {
        let d = input.start + Duration::days(i);
        let cx = GRID_X + DAY_W * (i as f32 + 0.5);
        p.text_centred(cx, top + 8.5, 7.0, Font::Bold, &d.day().to_string());
        let wd = &d.weekday().to_string()[..2];
        p.text_centred(cx, top + 17.0, 6.0, Font::Regular, wd);
    }
    p.rect(M, top, PAGE_W - 2.0 * M, HEAD_H, 0.6);
}

fn order_lines(o: &Order, today: NaiveDate) -> (String, String) {
    let mut flags = Vec::new();
    if let Some(cd) = o.cd {
        flags.push(match cd {
            medround_domain::order::CdSchedule::Schedule2 => "CD2",
            medround_domain::order::CdSchedule::Schedule3 => "CD3",
        });
    }
    if o.time_critical {
        flags.push("TIME-CRITICAL");
    }
    let name = if flags.is_empty() {
        o.medicine.label()
    } else {
        format!("{} [{}]", o.medicine.label(), flags.join(", "))
    };
    let how = match &o.schedule {
        Schedule::Prn => format!(
            "{} {} when required{}",
            o.dose_text(),
            o.route.label(),
            o.prn
                .as_ref()
                .map(|p| format!(
                    " for {}; {} h apart, max {} {} in 24 h",
                    p.indication,
                    p.min_interval_minutes / 60,
                    p.max_per_24h,
                    o.unit
                ))
                .unwrap_or_default()
        ),
        Schedule::Weekly { days, .. } => format!(
            "{} {} on {}",
            o.dose_text(),
            o.route.label(),
            days.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Schedule::EveryNDays { every, .. } => {
            format!("{} {} every {every} days", o.dose_text(), o.route.label())
        }
        Schedule::Daily { .. } => format!("{} {}", o.dose_text(), o.route.label()),
    };
    let mut second = how;
    if !o.instructions.is_empty() {
        second.push_str(". ");
        second.push_str(&o.instructions);
    }
    match &o.status {
        OrderStatus::Discontinued { at, reason } => {
            second = format!("STOPPED {}: {reason}. {second}", at.format("%-d %b"))
        }
        _ if o.is_ended(today) => {
            second = format!(
                "ENDED {}. {second}",
                o.end
                    .map(|e| e.format("%-d %b").to_string())
                    .unwrap_or_default()
            )
        }
        _ => {}
    }
    (name, second)
}

fn draw_order(p: &mut Page, o: &Order, rows: &[Row], y: f32, row_h: f32, input: &MarInput<'_>) {
    let block = row_h * rows.len() as f32;
    let today = input.now.with_timezone(&input.tz).date_naive();
    let (name, how) = order_lines(o, today);
    p.text_fit(M + 3.0, y + 9.0, 7.5, Font::Bold, &name, MED_W - 6.0);
    p.text_fit(M + 3.0, y + 19.0, 6.5, Font::Regular, &how, MED_W - 6.0);
    if block >= 3.0 * ROW_H {
        p.text_fit(
            M + 3.0,
            y + 28.0,
            6.5,
            Font::Regular,
            &format!("Prescriber: {}", o.prescriber),
            MED_W - 6.0,
        );
    }
    for (k, r) in rows.iter().enumerate() {
        let ry = y + row_h * k as f32;
        p.text(
            M + MED_W + 3.0,
            ry + row_h / 2.0 + 2.5,
            7.0,
            Font::Regular,
            &r.time,
        );
        for (d, c) in r.cells.iter().enumerate() {
            let x = GRID_X + DAY_W * d as f32;
            let cx = x + DAY_W / 2.0;
            let ty = ry + row_h / 2.0 + 2.4;
            match c {
                Cell::NotDue => p.fill(x, ry, DAY_W, row_h, 0.9),
                Cell::Blank => {}
                Cell::Given { initials, late } => {
                    let s = if *late {
                        format!("{initials}*")
                    } else {
                        initials.clone()
                    };
                    p.text_centred(cx, ty, 6.0, Font::Regular, &s);
                }
                Cell::Code(OutcomeCode::Missed) => {
                    p.fill(x, ry, DAY_W, row_h, 0.6);
                    p.text_centred(cx, ty, 7.0, Font::Bold, "M");
                }
                Cell::Code(code) => p.text_centred(cx, ty, 7.0, Font::Bold, cell_code(*code)),
                Cell::Prn { count, initials } => {
                    let s = if *count == 1 {
                        initials.clone()
                    } else {
                        format!("{count}x")
                    };
                    p.text_centred(cx, ty, 6.0, Font::Regular, &s);
                }
            }
        }
        if k > 0 {
            p.line(M + MED_W, ry, PAGE_W - M, ry, 0.3);
        }
    }
    // Cell borders: thin verticals, a heavier line between orders.
    for d in 0..=CYCLE_DAYS {
        let x = GRID_X + DAY_W * d as f32;
        p.line(x, y, x, y + block, if d % 7 == 0 { 0.8 } else { 0.3 });
    }
    p.line(M + MED_W, y, M + MED_W, y + block, 0.3);
    p.rect(M, y, PAGE_W - 2.0 * M, block, 0.8);
}

fn draw_key(p: &mut Page) {
    let top = KEY_TOP;
    p.line(M, top, PAGE_W - M, top, 0.8);
    p.text(M, top + 10.0, 7.5, Font::Bold, "Code key");
    p.text(M + 45.0, top + 10.0, 7.0, Font::Regular,
        "Initials = GIVEN (given as prescribed).  * = given late, reason recorded.  Shaded = no dose due.  Dark with M = MISSED.  PRN row: initials, or number of doses that day.");
    let entries: Vec<String> = OutcomeCode::ALL
        .iter()
        .filter(|c| **c != OutcomeCode::Given)
        .map(|c| format!("{} = {}: {}", cell_code(*c), c.code(), c.meaning()))
        .collect();
    let cols = 3;
    let col_w = (PAGE_W - 2.0 * M) / cols as f32;
    for (i, e) in entries.iter().enumerate() {
        let (c, r) = (i / 5, i % 5);
        p.text_fit(
            M + col_w * c as f32,
            top + 20.0 + 7.6 * r as f32,
            6.5,
            Font::Regular,
            e,
            col_w - 6.0,
        );
    }
}

/// The when-required and controlled-drug sections, as lines of text.
fn section_lines(input: &MarInput<'_>) -> Vec<(Font, String)> {
    let tz = input.tz;
    let when = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string();
    let who = |id: &str| {
        input
            .initials
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    };
    let medicine_of = |s: &Subject| match s {
        Subject::Prn { order } | Subject::Slot { order, .. } => input
            .orders
            .iter()
            .find(|o| &o.id == order)
            .map(|o| o.medicine.label())
            .unwrap_or_else(|| order.to_string()),
        Subject::Homely { remedy } => format!(
            "{} (homely remedy)",
            input
                .remedies
                .get(remedy.as_str())
                .cloned()
                .unwrap_or_else(|| remedy.to_string())
        ),
    };
    let voided: std::collections::HashSet<_> =
        input.prn.iter().filter_map(|a| a.voids.clone()).collect();
    let mut out = vec![(
        Font::Bold,
        "When-required (PRN) doses and homely remedies".to_string(),
    )];
    let mut prn: Vec<&Administration> = input
        .prn
        .iter()
        .filter(|a| a.voids.is_none() && !voided.contains(&a.id))
        .collect();
    prn.sort_by_key(|a| a.occurred_at);
    if prn.is_empty() {
        out.push((Font::Regular, "None given in this cycle.".into()));
    }
    for a in prn {
        let follow = input
            .follow_ups
            .iter()
            .find(|f| f.administration == a.id)
            .map(|f| {
                if f.effective {
                    "effective"
                } else {
                    "NOT effective"
                }
            })
            .unwrap_or("effect not recorded");
        out.push((
            Font::Regular,
            format!(
                "{}   {}   {}{}   reason: {}   by {}   {}",
                when(a.occurred_at),
                medicine_of(&a.subject),
                a.outcome.code(),
                a.quantity.map(|q| format!(" {q}")).unwrap_or_default(),
                a.prn_reason.clone().unwrap_or_else(|| "-".into()),
                who(a.author.as_str()),
                follow
            ),
        ));
    }
    out.push((
        Font::Bold,
        "Controlled drugs register entries (S7)".to_string(),
    ));
    if input.cd.is_empty() {
        out.push((Font::Regular, "None in this cycle.".into()));
    }
    let mut cd: Vec<&CdEntry> = input.cd.iter().collect();
    cd.sort_by_key(|e| e.at);
    for e in cd {
        let what = match &e.movement {
            CdMovement::Received { qty, from } => format!("received {qty} from {from}"),
            CdMovement::Administered { qty, .. } => format!("administered {qty}"),
            CdMovement::Destroyed { qty } => format!("destroyed {qty}"),
            CdMovement::Returned { qty } => format!("returned {qty}"),
            CdMovement::Count { counted } => format!("stock check: counted {counted}"),
            CdMovement::Voided { qty, .. } => format!("{qty} back: dose recorded in error"),
            CdMovement::PatchRemovedAndDestroyed { site, .. } => {
                format!("patch removed from {site} and destroyed")
            }
        };
        out.push((
            Font::Regular,
            format!(
                "{}   {}   {what}   balance {}   by {}   witness {}",
                when(e.at),
                e.drug,
                e.balance_after,
                who(e.by.as_str()),
                who(e.witness.as_str())
            ),
        ));
    }
    out
}

/// The charts of one or more residents as one PDF, each resident's pages numbered on their own
/// ("Page 2 of 3") and footed with the time it was printed.
pub fn document(inputs: &[MarInput<'_>], title: &str) -> Result<(Vec<u8>, u32), pdf::PdfError> {
    let mut all = Vec::new();
    for input in inputs {
        let mut pages = resident_pages(input);
        let n = pages.len();
        for (i, p) in pages.iter_mut().enumerate() {
            let foot = format!(
                "{}   Page {} of {n}   Printed {} by Medround",
                input.resident.full_name(),
                i + 1,
                input.now.with_timezone(&input.tz).format("%-d %b %Y %H:%M")
            );
            p.text(M, PAGE_H - M + 10.0, 6.5, Font::Regular, &foot);
        }
        all.extend(pages);
    }
    let n = all.len() as u32;
    Ok((pdf::write(&all, title)?, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveTime, Weekday};
    use medround_domain::medicine::Medicine;
    use medround_domain::order::{Application, Dose, OrderSource, Route};
    use medround_domain::qty::Qty;
    use medround_domain::resident::Presence;
    use medround_domain::{OrderId, RecordId, ResidentId, StaffId, UnitId};

    const TZ: Tz = chrono_tz::Europe::London;

    fn resident() -> Resident {
        Resident {
            id: ResidentId::new("r1"),
            unit: UnitId::new("u1"),
            room: "1".into(),
            given_name: "Edith".into(),
            family_name: "Walker".into(),
            preferred_name: None,
            date_of_birth: NaiveDate::from_ymd_opt(1936, 4, 2).unwrap(),
            nhs_number: "9434765919".into(),
            photo: None,
            allergies: vec![],
            presence: Presence::Present,
            reconciliation_pending: false,
            covert_plan: None,
        }
    }

    fn order(id: &str, schedule: Schedule) -> Order {
        Order {
            id: OrderId::new(id),
            resident: ResidentId::new("r1"),
            medicine: Medicine {
                name: "Amlodipine".into(),
                strength: "5mg".into(),
                form: "tablets".into(),
                dmd: None,
                excipients: vec![],
                gtins: vec![],
                ingredients: vec![],
            },
            dose: Dose::Fixed { qty: Qty::whole(1) },
            unit: "tablet".into(),
            route: Route::Oral,
            schedule,
            instructions: String::new(),
            prescriber: "Dr Patel".into(),
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            end: None,
            status: OrderStatus::Active,
            source: OrderSource::Pharmacy,
            checked_in_by: vec![],
            cd: None,
            time_critical: false,
            covert_allowed: false,
            both_intended: None,
            replaces: None,
            slots_after: None,
            application: Application::Standard,
            prn: None,
        }
    }

    fn fact(id: &str, order: &str, slot: Option<&str>, at: &str, outcome: OutcomeCode) -> DoseFact {
        let at: DateTime<Utc> = at.parse().unwrap();
        DoseFact {
            id: RecordId::new(id),
            resident: ResidentId::new("r1"),
            order: Some(OrderId::new(order)),
            slot: slot.map(|s| s.parse().unwrap()),
            outcome,
            occurred_at: at,
            recorded_at: at,
            late: false,
            author: StaffId::new("st-amy"),
            voids: None,
        }
    }

    #[test]
    fn the_grid_shows_initials_codes_missed_blanks_and_days_with_no_dose() {
        let eight = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
        let orders = [
            order("daily", Schedule::Daily { times: vec![eight] }),
            order(
                "weekly",
                Schedule::Weekly {
                    days: vec![Weekday::Mon],
                    times: vec![eight],
                },
            ),
            order("prn", Schedule::Prn),
        ];
        // The cycle of Monday 2 November 2026 (GMT); now is 08:30 on the 5th.
        let mut late = fact(
            "a2",
            "daily",
            Some("2026-11-03T08:00:00Z"),
            "2026-11-03T09:20:00Z",
            OutcomeCode::Given,
        );
        late.late = true;
        let facts = [
            fact(
                "a1",
                "daily",
                Some("2026-11-02T08:00:00Z"),
                "2026-11-02T08:05:00Z",
                OutcomeCode::Given,
            ),
            late,
            fact(
                "a3",
                "daily",
                Some("2026-11-04T08:00:00Z"),
                "2026-11-04T08:05:00Z",
                OutcomeCode::Refused,
            ),
            fact(
                "p1",
                "prn",
                None,
                "2026-11-02T10:00:00Z",
                OutcomeCode::Given,
            ),
            fact(
                "p2",
                "prn",
                None,
                "2026-11-02T16:00:00Z",
                OutcomeCode::Given,
            ),
        ];
        let initials: HashMap<String, String> = [("st-amy".to_string(), "AC".to_string())].into();
        let resident = resident();
        let input = MarInput {
            home: "Larch House",
            unit: "Rowan",
            resident: &resident,
            orders: &orders,
            facts: &facts,
            prn: &[],
            follow_ups: &[],
            cd: &[],
            initials: &initials,
            remedies: &HashMap::new(),
            start: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            now: "2026-11-05T08:30:00Z".parse().unwrap(),
            tz: TZ,
        };
        let (shown, rows) = grid(&input);
        assert_eq!(shown.len(), 3);
        let daily = &rows[0].cells;
        assert_eq!(
            daily[0],
            Cell::Given {
                initials: "AC".into(),
                late: false
            }
        );
        assert_eq!(
            daily[1],
            Cell::Given {
                initials: "AC".into(),
                late: true
            }
        );
        assert_eq!(daily[2], Cell::Code(OutcomeCode::Refused));
        // The 5th at 08:30 is still in its window; the 6th is to come.
        assert_eq!((&daily[3], &daily[4]), (&Cell::Blank, &Cell::Blank));
        let weekly = &rows[1].cells;
        // Monday the 2nd had no record and its window closed: MISSED. Tuesday: no dose due.
        assert_eq!(weekly[0], Cell::Code(OutcomeCode::Missed));
        assert_eq!(weekly[1], Cell::NotDue);
        assert_eq!(rows[2].time, "PRN");
        assert_eq!(
            rows[2].cells[0],
            Cell::Prn {
                count: 2,
                initials: "AC".into()
            }
        );
        assert_eq!(rows[2].cells[1], Cell::Blank);
        // And the document carries one page for it.
        let (pdf, pages) = document(&[input], "MAR").unwrap();
        assert_eq!(pages, 1);
        assert!(pdf.starts_with(b"%PDF"));
    }
}
