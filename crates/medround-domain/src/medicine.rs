//! Medicines as the pharmacy supplies them.

use crate::qty::Qty;
use serde::{Deserialize, Serialize};

/// An active ingredient, with its amount per unit of the product where it is counted against a
/// daily maximum (paracetamol in a co-codamol tablet counts towards paracetamol, S4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingredient {
    pub substance: String,
    #[serde(default)]
    pub mg_per_unit: Option<Qty>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Medicine {
    pub name: String,
    pub strength: String,
    pub form: String,
    /// dm+d (SNOMED CT) concept id where known. Never invented: absent rather than guessed.
    #[serde(default)]
    pub dmd: Option<String>,
    /// GTIN-14s of the packs that may be given for this medicine (S2).
    #[serde(default)]
    pub gtins: Vec<String>,
    pub ingredients: Vec<Ingredient>,
    /// Excipients that people are allergic to (arachis oil, soya, lactose, gelatin), where the
    /// product's leaflet was read for them; empty when nobody recorded them, which the allergy
    /// check treats as unknown, not as none (S6).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excipients: Vec<String>,
}

pub fn same_substance(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

impl Medicine {
    pub fn contains(&self, substance: &str) -> bool {
        self.ingredients
            .iter()
            .any(|i| same_substance(&i.substance, substance))
    }

    pub fn ingredient(&self, substance: &str) -> Option<&Ingredient> {
        self.ingredients
            .iter()
            .find(|i| same_substance(&i.substance, substance))
    }

    /// The substances this medicine shares with another.
    pub fn shared_substances<'a>(&'a self, other: &'a Medicine) -> impl Iterator<Item = &'a str> {
        self.ingredients
            .iter()
            .filter(|i| other.contains(&i.substance))
            .map(|i| i.substance.as_str())
    }

    pub fn label(&self) -> String {
        format!("{} {} {}", self.name, self.strength, self.form)
    }
}

/// Why an ingredient as typed could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountError {
    /// Only an amount, or nothing, with no substance before it.
    NoSubstance,
    /// Something after the substance that is not an amount this system reads.
    Unreadable,
}

/// Reads an active ingredient as a person types it from a letter or a pack: its substance and,
/// where given, its amount in each unit of the product, in mg: "paracetamol 500mg" (500 mg a
/// tablet), "codeine phosphate 30 mg", "morphine 10mg/5ml" and "morphine 10 mg in 5 ml" (2 mg
/// a ml), "fentanyl 12 micrograms", "amoxicillin 1g". An amount that is there but cannot be
/// read is an error, never dropped: a 24-hour limit counts on it (S4).
pub fn parse_ingredient(text: &str) -> Result<Ingredient, AmountError> {
    let text = crate::text::tidy(text);
    let words: Vec<&str> = text.split(' ').collect();
    let first_amount = words
        .iter()
        .position(|w| w.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
        .unwrap_or(words.len());
    let substance = words[..first_amount].join(" ");
    if substance.is_empty() {
        return Err(AmountError::NoSubstance);
    }
    let amount: String = words[first_amount..].concat().to_lowercase();
    if amount.is_empty() {
        return Ok(Ingredient {
            substance,
            mg_per_unit: None,
        });
    }
    let amount = amount.replace("in", "/").replace("per", "/");
    let (num, den) = match amount.split_once('/') {
        Some((n, d)) => (n, Some(d)),
        None => (amount.as_str(), None),
    };
    let (value, unit) = number_then_unit(num).ok_or(AmountError::Unreadable)?;
    let mg = match unit {
        "mg" | "milligram" | "milligrams" => value,
        "g" | "gram" | "grams" => value * 1000.0,
        "mcg" | "microgram" | "micrograms" | "\u{b5}g" | "ug" => value / 1000.0,
        _ => return Err(AmountError::Unreadable),
    };
    let per = match den {
        None => 1.0,
        Some(d) => match number_then_unit(d) {
            Some((n, u)) if !u.is_empty() && u.chars().all(char::is_alphabetic) => n,
            // "10mg/ml": one of the unit.
            None if !d.is_empty() && d.chars().all(char::is_alphabetic) => 1.0,
            _ => return Err(AmountError::Unreadable),
        },
    };
    if !(mg.is_finite() && per.is_finite() && mg > 0.0 && per > 0.0) || mg / per > 1.0e9 {
        return Err(AmountError::Unreadable);
    }
    Ok(Ingredient {
        substance,
        mg_per_unit: Some(Qty::from_f64(mg / per)),
    })
}

/// "500mg" as (500.0, "mg"); "5ml" as (5.0, "ml"); none when it does not start with a number.
fn number_then_unit(s: &str) -> Option<(f64, &str)> {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map_or(s.len(), |(i, _)| i);
    let value: f64 = s[..end].parse().ok()?;
    Some((value, &s[end..]))
}

/// The home's ceiling for one substance over any 24 hours, across every product (S4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngredientLimit {
    pub substance: String,
    pub max_mg_24h: Qty,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mg(text: &str) -> Option<Qty> {
        parse_ingredient(text).unwrap().mg_per_unit
    }

    #[test]
    fn s04_ingredient_amounts_are_read_as_typed() {
        assert_eq!(mg("paracetamol 500mg"), Some(Qty::whole(500)));
        assert_eq!(mg("Paracetamol 1 g"), Some(Qty::whole(1000)));
        assert_eq!(mg("codeine phosphate 30 mg"), Some(Qty::whole(30)));
        assert_eq!(mg("morphine sulfate 10mg/5ml"), Some(Qty::whole(2)));
        assert_eq!(mg("morphine 10 mg in 5 ml"), Some(Qty::whole(2)));
        assert_eq!(mg("paracetamol 120mg per 5ml"), Some(Qty::whole(24)));
        assert_eq!(mg("oxycodone 5mg/ml"), Some(Qty::whole(5)));
        assert_eq!(mg("fentanyl 12 micrograms"), Some(Qty::milli(12)));
        assert_eq!(mg("furosemide"), None);
        assert_eq!(
            parse_ingredient("  clavulanic   acid 125mg ")
                .unwrap()
                .substance,
            "clavulanic acid"
        );
    }

    #[test]
    fn s04_an_amount_that_cannot_be_read_is_refused_not_dropped() {
        for bad in [
            "paracetamol 500",
            "paracetamol 500 tablets",
            "paracetamol 5oo mg",
            "paracetamol 0mg",
            "paracetamol 500mg/",
            "paracetamol 1e400mg",
        ] {
            assert_eq!(parse_ingredient(bad), Err(AmountError::Unreadable), "{bad}");
        }
        assert_eq!(parse_ingredient("500mg"), Err(AmountError::NoSubstance));
        assert_eq!(parse_ingredient(""), Err(AmountError::NoSubstance));
    }
}
