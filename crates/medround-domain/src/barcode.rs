//! What a scan field receives. A keyboard-wedge scanner "types" the barcode into a text field, so
//! the input is a string: a bare GTIN (EAN-13 on a box), a GS1 DataMatrix element string (with the
//! FNC1 group separator, or in the human-readable "(01)...(17)..." form), or the pharmacy's
//! dispensing-label code, which names the resident and the order.

use crate::checks::{gtin14, gtin_is_valid};
use crate::ids::{OrderId, ResidentId};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// GS1 group separator (FNC1 transmitted by scanners as ASCII 29).
const GS: char = '\u{1d}';

/// Prefix of the dispensing-label code printed by the pharmacy on each resident's supply:
/// `MRL1:<resident id>:<order id>`.
pub const LABEL_PREFIX: &str = "MRL1:";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scan {
    /// A pack: proves the product, not the person (S2).
    Product {
        gtin: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expiry: Option<NaiveDate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        batch: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        serial: Option<String>,
    },
    /// A dispensing label: proves the person and the order (S1).
    Label {
        resident: ResidentId,
        order: OrderId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum BarcodeError {
    #[error("Nothing was scanned.")]
    Empty,
    #[error("The barcode's check digit is wrong. Scan it again, or type the product in.")]
    BadCheckDigit,
    #[error("This barcode is not a medicine pack or a dispensing label.")]
    Unrecognised,
    #[error("The pack barcode is damaged or incomplete ({0}).")]
    MalformedGs1(String),
    #[error("The dispensing label code is incomplete.")]
    MalformedLabel,
}

pub fn parse_scan(raw: &str) -> Result<Scan, BarcodeError> {
    // Scanners often add a trailing carriage return; a symbology identifier "]d2" (DataMatrix) or
    // "]C1" (GS1-128) may lead.
    let s = raw.trim_matches(|c: char| c == '\r' || c == '\n' || c == ' ');
    let s = s
        .strip_prefix("]d2")
        .or_else(|| s.strip_prefix("]C1"))
        .or_else(|| s.strip_prefix("]e0"))
        .unwrap_or(s);
    if s.is_empty() {
        return Err(BarcodeError::Empty);
    }
    if let Some(rest) = s.strip_prefix(LABEL_PREFIX) {
        let mut parts = rest.split(':');
        let (Some(r), Some(o), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(BarcodeError::MalformedLabel);
        };
        if r.is_empty() || o.is_empty() {
            return Err(BarcodeError::MalformedLabel);
        }
        return Ok(Scan::Label {
            resident: ResidentId::new(r),
            order: OrderId::new(o),
        });
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && matches!(s.len(), 8 | 12 | 13 | 14) {
        return if gtin_is_valid(s) {
            Ok(Scan::Product {
                gtin: gtin14(s),
                expiry: None,
                batch: None,
                serial: None,
            })
        } else {
            Err(BarcodeError::BadCheckDigit)
        };
    }
    if s.starts_with("(01)") {
        return parse_gs1(&bracketed_to_gs(s)?);
    }
    if s.starts_with("01") {
        return parse_gs1(s);
    }
    Err(BarcodeError::Unrecognised)
}

/// "(01)0500...(17)271231(10)AB1" becomes the element string a scanner would send.
fn bracketed_to_gs(s: &str) -> Result<String, BarcodeError> {
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        let Some(r) = rest.strip_prefix('(') else {
            return Err(BarcodeError::MalformedGs1("expected '('".into()));
        };
        let Some(close) = r.find(')') else {
            return Err(BarcodeError::MalformedGs1("missing ')'".into()));
        };
        let ai = &r[..close];
        let after = &r[close + 1..];
        let end = after.find('(').unwrap_or(after.len());
        out.push_str(ai);
        out.push_str(&after[..end]);
        if !matches!(ai, "01" | "17") {
            out.push(GS);
        }
        rest = &after[end..];
    }
    Ok(out)
}

fn parse_gs1(s: &str) -> Result<Scan, BarcodeError> {
    let mut gtin = None;
    let mut expiry = None;
    let mut batch = None;
    let mut serial = None;
    let mut rest = s;
    while !rest.is_empty() {
        rest = rest.trim_start_matches(GS);
        if rest.is_empty() {
            break;
        }
        let Some(ai) = rest.get(..2) else {
            return Err(BarcodeError::MalformedGs1("truncated".into()));
        };
        let body = &rest[2..];
        match ai {
            "01" => {
                let g = body
                    .get(..14)
                    .ok_or_else(|| BarcodeError::MalformedGs1("GTIN too short".into()))?;
                if !gtin_is_valid(g) {
                    return Err(BarcodeError::BadCheckDigit);
                }
                gtin = Some(g.to_string());
                rest = &body[14..];
            }
            "17" => {
                let d = body
                    .get(..6)
                    .ok_or_else(|| BarcodeError::MalformedGs1("expiry too short".into()))?;
                expiry = Some(parse_gs1_date(d)?);
                rest = &body[6..];
            }
            "10" | "21" => {
                let end = body.find(GS).unwrap_or(body.len());
                let v = body[..end].to_string();
                if v.is_empty() || v.len() > 20 {
                    return Err(BarcodeError::MalformedGs1(format!("bad ({ai}) field")));
                }
                if ai == "10" {
                    batch = Some(v);
                } else {
                    serial = Some(v);
                }
                rest = &body[end..];
            }
            other => {
                return Err(BarcodeError::MalformedGs1(format!(
                    "unexpected application identifier ({other})"
                )))
            }
        }
    }
    let gtin = gtin.ok_or_else(|| BarcodeError::MalformedGs1("no GTIN (01)".into()))?;
    Ok(Scan::Product {
        gtin,
        expiry,
        batch,
        serial,
    })
}

/// YYMMDD; day 00 means the end of the month (GS1 General Specifications 3.4.7). Years are taken
/// as 2000-2099, which is right for any pack in a care home's cupboard.
fn parse_gs1_date(d: &str) -> Result<NaiveDate, BarcodeError> {
    let bad = || BarcodeError::MalformedGs1(format!("bad expiry date {d}"));
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let y: i32 = 2000 + d[..2].parse::<i32>().map_err(|_| bad())?;
    let m: u32 = d[2..4].parse().map_err(|_| bad())?;
    let day: u32 = d[4..6].parse().map_err(|_| bad())?;
    if day == 0 {
        let first_next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)
        };
        return first_next.and_then(|f| f.pred_opt()).ok_or_else(bad);
    }
    NaiveDate::from_ymd_opt(y, m, day).ok_or_else(bad)
}

/// The label code the pharmacy prints for one resident's supply of one order.
pub fn label_code(resident: &ResidentId, order: &OrderId) -> String {
    format!("{LABEL_PREFIX}{resident}:{order}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ean13_becomes_gtin14() {
        assert_eq!(
            parse_scan("5000000000012\r"),
            Ok(Scan::Product {
                gtin: "05000000000012".into(),
                expiry: None,
                batch: None,
                serial: None
            })
        );
    }

    #[test]
    fn datamatrix_with_group_separators() {
        let raw = "]d2010500000000001217271231\u{1d}10AB12\u{1d}21XYZ9";
        let Scan::Product {
            gtin,
            expiry,
            batch,
            serial,
        } = parse_scan(raw).unwrap()
        else {
            panic!("not a product")
        };
        assert_eq!(gtin, "05000000000012");
        assert_eq!(expiry, NaiveDate::from_ymd_opt(2027, 12, 31));
        assert_eq!(batch.as_deref(), Some("AB12"));
        assert_eq!(serial.as_deref(), Some("XYZ9"));
    }

    #[test]
    fn bracketed_form_and_end_of_month_expiry() {
        let Scan::Product { expiry, batch, .. } =
            parse_scan("(01)05000000000012(17)270200(10)B7").unwrap()
        else {
            panic!()
        };
        assert_eq!(expiry, NaiveDate::from_ymd_opt(2027, 2, 28));
        assert_eq!(batch.as_deref(), Some("B7"));
    }

    #[test]
    fn malformed_barcodes_are_refused_with_a_reason() {
        assert_eq!(parse_scan("  "), Err(BarcodeError::Empty));
        assert_eq!(
            parse_scan("5000000000013"),
            Err(BarcodeError::BadCheckDigit)
        );
        assert_eq!(parse_scan("hello"), Err(BarcodeError::Unrecognised));
        assert!(matches!(
            parse_scan("0105000000"),
            Err(BarcodeError::MalformedGs1(_))
        ));
        assert!(matches!(
            parse_scan("010500000000001217279999"),
            Err(BarcodeError::MalformedGs1(_))
        ));
        assert!(matches!(
            parse_scan("01050000000000129912"),
            Err(BarcodeError::MalformedGs1(_))
        ));
        assert_eq!(parse_scan("MRL1:r1"), Err(BarcodeError::MalformedLabel));
        assert_eq!(parse_scan("MRL1::o1"), Err(BarcodeError::MalformedLabel));
    }

    #[test]
    fn label_round_trips() {
        let code = label_code(&ResidentId::new("r1"), &OrderId::new("o9"));
        assert_eq!(
            parse_scan(&code),
            Ok(Scan::Label {
                resident: ResidentId::new("r1"),
                order: OrderId::new("o9")
            })
        );
    }
}
