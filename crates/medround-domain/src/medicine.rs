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

/// The home's ceiling for one substance over any 24 hours, across every product (S4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngredientLimit {
    pub substance: String,
    pub max_mg_24h: Qty,
}
