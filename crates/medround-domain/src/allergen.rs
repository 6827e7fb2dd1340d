//! Allergies to substances and to classes (S6).
//!
//! A recorded allergy is free text ("penicillin", "Amoxicillin - rash", "peanut"). Matching it
//! word for word against a medicine's ingredients missed the allergies that matter most: a
//! penicillin allergy did not stop flucloxacillin or co-amoxiclav. So every allergy is read
//! against a curated table of allergen classes and their members, each with its source:
//!
//! - an allergy to a class blocks every member of the class, and warns for the classes known
//!   to be cross-sensitive with it (a penicillin allergy warns for cephalosporins);
//! - an allergy to a member blocks that member, and warns for the rest of its class and its
//!   cross-sensitive classes;
//! - an allergy that names nothing in the table is still matched word for word against the
//!   medicine, and is shown everywhere as "not checked by the system", never silently ignored.
//!
//! Excipients (arachis oil, soya, lactose, gelatin) are not active ingredients: a medicine is
//! checked against them only when its excipients are recorded, and a dose of a medicine whose
//! excipients are not recorded warns the carer to check the label.

use crate::medicine::Medicine;
use crate::resident::Allergy;

/// One allergen class of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllergenClass {
    /// Stable identifier (`penicillins`).
    pub id: &'static str,
    /// What a person reads ("Penicillins").
    pub name: &'static str,
    /// Words that name the class itself in an allergy ("penicillin", "penicillins").
    pub names: &'static [&'static str],
    /// Substances (and combination products' names) in the class, lower case.
    pub members: &'static [&'static str],
    /// Classes an allergy to this one warns for (cross-sensitivity).
    pub cross_sensitive: &'static [&'static str],
    /// Excipients are checked against a medicine's recorded excipients, not its actives.
    pub excipient: bool,
    /// Where the membership and cross-sensitivity come from.
    pub source: &'static str,
}

/// The table. Membership follows the BNF's treatment summaries; cross-sensitivity follows the
/// BNF and NICE guideline CG183 (Drug allergy: diagnosis and management, 2014).
pub const CLASSES: &[AllergenClass] = &[
    AllergenClass {
        id: "penicillins",
        name: "Penicillins",
        names: &["penicillin", "penicillins", "beta-lactam", "beta lactam"],
        members: &[
            "amoxicillin",
            "amoxycillin",
            "ampicillin",
            "benzylpenicillin",
            "penicillin g",
            "penicillin v",
            "phenoxymethylpenicillin",
            "flucloxacillin",
            "piperacillin",
            "pivmecillinam",
            "temocillin",
            "co-amoxiclav",
            "co-fluampicil",
            "tazocin",
        ],
        cross_sensitive: &["cephalosporins", "carbapenems"],
        excipient: false,
        source: "BNF treatment summary 'Penicillins' (hypersensitivity: a person allergic to one \
                 penicillin is allergic to all); NICE CG183 1.2 and BNF 'Cephalosporins' \
                 (cross-sensitivity with cephalosporins and carbapenems)",
    },
    AllergenClass {
        id: "cephalosporins",
        name: "Cephalosporins",
        names: &["cephalosporin", "cephalosporins"],
        members: &[
            "cefalexin",
            "cephalexin",
            "cefadroxil",
            "cefaclor",
            "cefuroxime",
            "cefixime",
            "cefotaxime",
            "ceftriaxone",
            "ceftazidime",
            "cefradine",
            "ceftaroline",
            "cefiderocol",
            "ceftobiprole",
            "ceftolozane",
        ],
        cross_sensitive: &["penicillins", "carbapenems"],
        excipient: false,
        source: "BNF treatment summary 'Cephalosporins' (about 0.5-6.5% of penicillin-sensitive \
                 patients are also allergic to cephalosporins)",
    },
    AllergenClass {
        id: "carbapenems",
        name: "Carbapenems",
        names: &["carbapenem", "carbapenems"],
        members: &[
            "meropenem",
            "ertapenem",
            "imipenem",
            "imipenem with cilastatin",
        ],
        cross_sensitive: &["penicillins", "cephalosporins"],
        excipient: false,
        source: "BNF treatment summary 'Carbapenems' (cautions: sensitivity to beta-lactam \
                 antibacterials)",
    },
    AllergenClass {
        id: "sulfonamides",
        name: "Sulfonamide antibiotics",
        names: &[
            "sulfonamide",
            "sulfonamides",
            "sulphonamide",
            "sulphonamides",
            "sulfa",
            "sulpha",
        ],
        members: &[
            "sulfamethoxazole",
            "sulphamethoxazole",
            "co-trimoxazole",
            "septrin",
            "sulfadiazine",
            "silver sulfadiazine",
            "sulfasalazine",
            "sulphasalazine",
        ],
        cross_sensitive: &[],
        excipient: false,
        source: "BNF treatment summary 'Sulfonamides and trimethoprim' (co-trimoxazole contains \
                 sulfamethoxazole); BNF 'Sulfasalazine' (contra-indicated in sulfonamide \
                 hypersensitivity)",
    },
    AllergenClass {
        id: "nsaids",
        name: "NSAIDs (aspirin included)",
        names: &[
            "nsaid",
            "nsaids",
            "non-steroidal anti-inflammatory",
            "non-steroidal anti-inflammatories",
            "anti-inflammatories",
        ],
        members: &[
            "aspirin",
            "acetylsalicylic acid",
            "ibuprofen",
            "naproxen",
            "diclofenac",
            "indometacin",
            "indomethacin",
            "mefenamic acid",
            "ketoprofen",
            "meloxicam",
            "piroxicam",
            "etodolac",
            "celecoxib",
            "etoricoxib",
            "nabumetone",
            "flurbiprofen",
            "dexketoprofen",
            "aceclofenac",
        ],
        cross_sensitive: &[],
        excipient: false,
        source: "BNF treatment summary 'Non-steroidal anti-inflammatory drugs' (contra-indicated \
                 in a history of hypersensitivity to aspirin or any other NSAID)",
    },
    AllergenClass {
        id: "opioids",
        name: "Opioids",
        names: &["opioid", "opioids", "opiate", "opiates"],
        members: &[
            "morphine",
            "codeine",
            "dihydrocodeine",
            "oxycodone",
            "fentanyl",
            "buprenorphine",
            "tramadol",
            "tapentadol",
            "diamorphine",
            "hydromorphone",
            "methadone",
            "pethidine",
            "alfentanil",
            "co-codamol",
            "co-dydramol",
        ],
        cross_sensitive: &[],
        excipient: false,
        source: "BNF treatment summary 'Analgesics: opioids'",
    },
    AllergenClass {
        id: "macrolides",
        name: "Macrolides",
        names: &["macrolide", "macrolides"],
        members: &["erythromycin", "clarithromycin", "azithromycin"],
        cross_sensitive: &[],
        excipient: false,
        source: "BNF treatment summary 'Macrolides' (contra-indicated in hypersensitivity to \
                 any macrolide)",
    },
    AllergenClass {
        id: "tetracyclines",
        name: "Tetracyclines",
        names: &["tetracyclines", "tetracycline antibiotics"],
        members: &[
            "tetracycline",
            "doxycycline",
            "lymecycline",
            "minocycline",
            "oxytetracycline",
            "demeclocycline",
            "tigecycline",
        ],
        cross_sensitive: &[],
        excipient: false,
        source: "BNF treatment summary 'Tetracyclines'",
    },
    AllergenClass {
        id: "quinolones",
        name: "Quinolones",
        names: &[
            "quinolone",
            "quinolones",
            "fluoroquinolone",
            "fluoroquinolones",
        ],
        members: &[
            "ciprofloxacin",
            "levofloxacin",
            "moxifloxacin",
            "ofloxacin",
            "delafloxacin",
        ],
        cross_sensitive: &[],
        excipient: false,
        source: "BNF treatment summary 'Quinolones' (contra-indicated in hypersensitivity to \
                 quinolones); MHRA Drug Safety Update, March 2019",
    },
    AllergenClass {
        id: "ace-inhibitors",
        name: "ACE inhibitors",
        names: &[
            "ace inhibitor",
            "ace inhibitors",
            "ace-inhibitor",
            "ace-inhibitors",
        ],
        members: &[
            "ramipril",
            "lisinopril",
            "enalapril",
            "perindopril",
            "captopril",
            "fosinopril",
            "imidapril",
            "quinapril",
            "trandolapril",
        ],
        cross_sensitive: &[],
        excipient: false,
        source: "BNF treatment summary 'Hypertension: ACE inhibitors' (contra-indicated in a \
                 history of angioedema, including with a previous ACE inhibitor)",
    },
    AllergenClass {
        id: "arachis-oil",
        name: "Arachis (peanut) oil",
        names: &["peanut", "peanuts", "groundnut", "arachis"],
        members: &["arachis oil", "peanut oil", "groundnut oil"],
        cross_sensitive: &["soya"],
        excipient: true,
        source: "BNF 'Excipients' (arachis oil: products containing it must not be used in \
                 peanut allergy; cross-sensitivity with soya is possible); EMA excipients \
                 guideline annex",
    },
    AllergenClass {
        id: "soya",
        name: "Soya",
        names: &["soya", "soy", "soybean", "soyabean"],
        members: &["soya oil", "soybean oil", "soya lecithin", "soy lecithin"],
        cross_sensitive: &["arachis-oil"],
        excipient: true,
        source: "BNF 'Excipients' and EMA excipients guideline annex (soya oil: not for use in \
                 soya or peanut allergy)",
    },
    AllergenClass {
        id: "lactose",
        name: "Lactose",
        names: &["lactose", "milk protein", "cows milk", "cow's milk"],
        members: &["lactose monohydrate", "anhydrous lactose"],
        cross_sensitive: &[],
        excipient: true,
        source: "EMA excipients guideline annex (lactose)",
    },
    AllergenClass {
        id: "gelatin",
        name: "Gelatin",
        names: &["gelatin", "gelatine"],
        members: &["bovine gelatin", "porcine gelatin"],
        cross_sensitive: &[],
        excipient: true,
        source: "BNF 'Excipients' and EMA excipients guideline annex (gelatin capsules and \
                 vaccines)",
    },
];

/// Substances that stand alone (no class of the table) but that the system knows by name, so
/// an allergy to one of them is matched exactly rather than flagged as not checked.
pub const KNOWN_SUBSTANCES: &[&str] = &[
    "paracetamol",
    "trimethoprim",
    "nitrofurantoin",
    "metronidazole",
    "clindamycin",
    "vancomycin",
    "gentamicin",
    "chlorhexidine",
    "iodine",
    "latex",
    "metformin",
    "amlodipine",
    "furosemide",
    "bendroflumethiazide",
    "warfarin",
    "apixaban",
    "levothyroxine",
    "allopurinol",
    "carbamazepine",
    "phenytoin",
    "lamotrigine",
    "levetiracetam",
    "sodium valproate",
    "donepezil",
    "levodopa",
    "co-careldopa",
    "insulin",
    "simvastatin",
    "atorvastatin",
    "omeprazole",
    "lansoprazole",
    "sertraline",
    "citalopram",
    "mirtazapine",
    "haloperidol",
    "risperidone",
    "quetiapine",
    "lorazepam",
    "diazepam",
    "midazolam",
    "temazepam",
    "zopiclone",
    "senna",
    "lactulose",
    "macrogol",
    "methotrexate",
    "prednisolone",
    "alendronic acid",
    "colecalciferol",
    "ferrous sulfate",
    "hyoscine",
    "glyceryl trinitrate",
    "salbutamol",
    "digoxin",
];

fn class(id: &str) -> Option<&'static AllergenClass> {
    CLASSES.iter().find(|c| c.id == id)
}

/// Lower case, every run of characters other than letters, digits, hyphens and apostrophes
/// made one space, padded with a space either side, so that a phrase is found only as whole
/// words (" amoxicillin " is in " co-amoxiclav 625mg " no more than "penicillin" is in
/// "phenoxymethylpenicillin").
fn words(text: &str) -> String {
    let mut out = String::from(" ");
    let mut space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '-' || c == '\'' {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    if !space {
        out.push(' ');
    }
    out
}

/// Whether `phrase`, already in the form `words` makes (as every entry of the table is), is
/// in `haystack` as whole words. It allocates nothing: it runs for every allergy at every
/// dose.
fn has_phrase(haystack: &str, phrase: &str) -> bool {
    haystack
        .match_indices(phrase)
        .any(|(i, _)| haystack[..i].ends_with(' ') && haystack[i + phrase.len()..].starts_with(' '))
}

/// What the system makes of an allergy's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The allergy names a whole class (penicillins).
    Class(&'static AllergenClass),
    /// The allergy names one member (amoxicillin), of this class.
    Member {
        substance: &'static str,
        class: &'static AllergenClass,
    },
    /// A substance the system knows that belongs to no class (paracetamol).
    Substance(&'static str),
    /// Nothing the system knows: still matched word for word, and shown as not checked.
    Unknown,
}

impl Reading {
    pub fn checked(self) -> bool {
        !matches!(self, Reading::Unknown)
    }
}

/// Reads one allergy's substance text against the table. A class named in the text wins over
/// a member ("penicillin (amoxicillin rash)" is an allergy to the class).
pub fn read(substance: &str) -> Reading {
    let text = words(substance);
    if text.trim().is_empty() {
        return Reading::Unknown;
    }
    if let Some(c) = CLASSES
        .iter()
        .find(|c| c.names.iter().any(|n| has_phrase(&text, n)))
    {
        return Reading::Class(c);
    }
    for c in CLASSES {
        if let Some(m) = c.members.iter().find(|m| has_phrase(&text, m)) {
            return Reading::Member {
                substance: m,
                class: c,
            };
        }
    }
    if let Some(s) = KNOWN_SUBSTANCES.iter().find(|s| has_phrase(&text, s)) {
        return Reading::Substance(s);
    }
    Reading::Unknown
}

/// How strongly an allergy bears on a medicine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// Check the label: the medicine's excipients are not recorded, or a class is
    /// cross-sensitive with the one the allergy names.
    Warn,
    /// The medicine contains the allergen, or a member of the class the allergy names.
    Block,
}

/// One allergy that bears on one medicine, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllergyHit<'a> {
    pub allergy: &'a Allergy,
    pub strength: Strength,
    /// Plain English: what in the medicine the allergy meets.
    pub reason: String,
}

/// All that a medicine's text says, actives and excipients and its name, as words.
fn medicine_words(m: &Medicine) -> (String, String) {
    let mut actives = m.name.clone();
    for i in &m.ingredients {
        actives.push_str(" | ");
        actives.push_str(&i.substance);
    }
    let excipients = m.excipients.join(" | ");
    (words(&actives), words(&excipients))
}

/// The class members (or class words) found in a medicine's text.
fn found_in(c: &AllergenClass, actives: &str, excipients: &str) -> Option<&'static str> {
    let text = if c.excipient { excipients } else { actives };
    c.members
        .iter()
        .chain(c.names.iter())
        .find(|m| has_phrase(text, m))
        .copied()
}

/// S6: every recorded allergy that bears on `m`, strongest first.
pub fn hits<'a>(allergies: &'a [Allergy], m: &Medicine) -> Vec<AllergyHit<'a>> {
    let (actives, excipients) = medicine_words(m);
    let mut out = Vec::new();
    for a in allergies {
        let reading = read(&a.substance);
        let mut hit = |strength: Strength, reason: String| {
            out.push(AllergyHit {
                allergy: a,
                strength,
                reason,
            })
        };
        // The allergy's own words found in the medicine block whatever the table says.
        let own = words(&a.substance);
        let own_found = !own.trim().is_empty()
            && (actives.contains(&own) || (!m.excipients.is_empty() && excipients.contains(&own)));
        match reading {
            Reading::Class(c) => {
                if let Some(found) = found_in(c, &actives, &excipients) {
                    hit(
                        Strength::Block,
                        format!("{found} is one of the {}", c.name.to_lowercase()),
                    );
                } else if c.excipient && m.excipients.is_empty() {
                    hit(
                        Strength::Warn,
                        format!(
                            "this medicine's excipients are not recorded: check the label for {}",
                            c.name.to_lowercase()
                        ),
                    );
                } else if let Some((x, found)) = cross(c, &actives, &excipients) {
                    hit(
                        Strength::Warn,
                        format!(
                            "{found} is one of the {}, which can cross-react with {}",
                            x.name.to_lowercase(),
                            c.name.to_lowercase()
                        ),
                    );
                }
            }
            Reading::Member { substance, class } => {
                if has_phrase(&actives, substance) || own_found {
                    hit(Strength::Block, format!("it contains {substance}"));
                } else if let Some(found) = found_in(class, &actives, &excipients) {
                    hit(
                        Strength::Warn,
                        format!(
                            "{found} is in the same class as {substance} ({})",
                            class.name.to_lowercase()
                        ),
                    );
                } else if class.excipient && m.excipients.is_empty() {
                    hit(
                        Strength::Warn,
                        format!(
                            "this medicine's excipients are not recorded: check the label for \
                             {substance}"
                        ),
                    );
                } else if let Some((x, found)) = cross(class, &actives, &excipients) {
                    hit(
                        Strength::Warn,
                        format!(
                            "{found} is one of the {}, which can cross-react with {substance}",
                            x.name.to_lowercase()
                        ),
                    );
                }
            }
            Reading::Substance(s) => {
                if has_phrase(&actives, s) || own_found {
                    hit(Strength::Block, format!("it contains {s}"));
                }
            }
            Reading::Unknown => {
                if own_found {
                    hit(
                        Strength::Block,
                        format!("it contains {}", a.substance.trim()),
                    );
                }
            }
        }
    }
    out.sort_by_key(|h| std::cmp::Reverse(h.strength));
    out
}

fn cross(
    c: &AllergenClass,
    actives: &str,
    excipients: &str,
) -> Option<(&'static AllergenClass, &'static str)> {
    c.cross_sensitive
        .iter()
        .filter_map(|id| class(id))
        .find_map(|x| found_in(x, actives, excipients).map(|f| (x, f)))
}

/// The allergies the system cannot match to anything it knows: shown as "not checked by the
/// system" on the chart and at every dose.
pub fn unchecked(allergies: &[Allergy]) -> impl Iterator<Item = &Allergy> {
    allergies.iter().filter(|a| !read(&a.substance).checked())
}

/// The names a senior can choose an allergy from: each class, then each member and known
/// substance, in the table's order.
pub fn choices() -> Vec<String> {
    let mut out: Vec<String> = CLASSES.iter().map(|c| c.name.to_string()).collect();
    for c in CLASSES {
        out.extend(c.members.iter().map(|m| m.to_string()));
    }
    out.extend(KNOWN_SUBSTANCES.iter().map(|s| s.to_string()));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::medicine::Ingredient;

    fn allergy(s: &str) -> Allergy {
        Allergy {
            substance: s.into(),
            reaction: "rash".into(),
        }
    }

    fn med(name: &str, actives: &[&str]) -> Medicine {
        Medicine {
            name: name.into(),
            strength: String::new(),
            form: "capsules".into(),
            dmd: None,
            gtins: vec![],
            ingredients: actives
                .iter()
                .map(|s| Ingredient {
                    substance: s.to_string(),
                    mg_per_unit: None,
                })
                .collect(),
            excipients: vec![],
        }
    }

    fn strength(allergy_text: &str, m: &Medicine) -> Option<Strength> {
        let a = [allergy(allergy_text)];
        hits(&a, m).first().map(|h| h.strength)
    }

    #[test]
    fn s06_a_class_allergy_blocks_every_member_of_the_class() {
        for (name, actives) in [
            ("Flucloxacillin 500mg capsules", vec!["flucloxacillin"]),
            (
                "Co-amoxiclav 500mg/125mg tablets",
                vec!["amoxicillin", "clavulanic acid"],
            ),
            ("Co-amoxiclav 625mg tablets", vec!["co-amoxiclav"]),
            ("Phenoxymethylpenicillin 250mg tablets", vec![]),
        ] {
            assert_eq!(
                strength("Penicillin", &med(name, &actives)),
                Some(Strength::Block),
                "{name}"
            );
        }
        assert_eq!(
            strength("NSAIDs", &med("Aspirin 75mg dispersible", &["aspirin"])),
            Some(Strength::Block)
        );
        assert_eq!(
            strength(
                "opiates",
                &med("Co-codamol 30/500", &["codeine", "paracetamol"])
            ),
            Some(Strength::Block)
        );
    }

    #[test]
    fn s06_cross_sensitive_classes_warn() {
        let cefalexin = med("Cefalexin 500mg capsules", &["cefalexin"]);
        assert_eq!(strength("penicillin", &cefalexin), Some(Strength::Warn));
        assert_eq!(strength("amoxicillin", &cefalexin), Some(Strength::Warn));
        let a = [allergy("penicillin")];
        let h = hits(&a, &cefalexin);
        assert!(h[0].reason.contains("cephalosporins"), "{}", h[0].reason);
    }

    #[test]
    fn s06_a_member_allergy_blocks_the_member_and_warns_for_its_class() {
        let amox = med("Amoxicillin 500mg capsules", &["amoxicillin"]);
        let fluclox = med("Flucloxacillin 500mg capsules", &["flucloxacillin"]);
        assert_eq!(strength("Amoxicillin", &amox), Some(Strength::Block));
        assert_eq!(strength("Amoxicillin", &fluclox), Some(Strength::Warn));
        assert_eq!(
            strength("ibuprofen", &med("Naproxen 250mg", &["naproxen"])),
            Some(Strength::Warn)
        );
    }

    #[test]
    fn s06_words_match_whole_words_only() {
        // "penicillin" is a class word, found whole in "benzylpenicillin"'s class list, not as
        // part of another word; an unrelated medicine is untouched.
        let para = med("Paracetamol 500mg tablets", &["paracetamol"]);
        assert_eq!(strength("penicillin", &para), None);
        assert_eq!(strength("codeine", &para), None);
        assert_eq!(strength("cod", &med("Codeine 30mg", &["codeine"])), None);
    }

    #[test]
    fn s06_an_unknown_allergy_is_matched_word_for_word_and_listed_as_not_checked() {
        let list = [
            allergy("Zyxomab"),
            allergy("penicillin"),
            allergy("paracetamol"),
        ];
        let names: Vec<&str> = unchecked(&list).map(|a| a.substance.as_str()).collect();
        assert_eq!(names, ["Zyxomab"]);
        assert_eq!(
            strength("Zyxomab", &med("Zyxomab 10mg", &["zyxomab"])),
            Some(Strength::Block)
        );
        assert_eq!(read("   "), Reading::Unknown);
    }

    #[test]
    fn s06_excipients_are_checked_where_recorded_and_warn_where_not() {
        let mut m = med(
            "Calcium and vitamin D",
            &["calcium carbonate", "colecalciferol"],
        );
        assert_eq!(strength("peanut", &m), Some(Strength::Warn));
        m.excipients = vec!["arachis oil".into(), "gelatin".into()];
        assert_eq!(strength("peanut", &m), Some(Strength::Block));
        assert_eq!(strength("gelatine", &m), Some(Strength::Block));
        assert_eq!(strength("lactose", &m), None);
        // Soya is cross-sensitive with peanut.
        m.excipients = vec!["soya oil".into()];
        assert_eq!(strength("peanut", &m), Some(Strength::Warn));
    }

    #[test]
    fn every_entry_of_the_table_is_already_in_the_form_it_is_matched_in() {
        let entries = CLASSES
            .iter()
            .flat_map(|c| c.names.iter().chain(c.members.iter()))
            .chain(KNOWN_SUBSTANCES.iter());
        for e in entries {
            assert_eq!(words(e), format!(" {e} "), "{e}");
        }
    }

    #[test]
    fn every_class_cites_a_source_and_names_real_cross_classes() {
        for c in CLASSES {
            assert!(!c.source.trim().is_empty(), "{}", c.id);
            assert!(!c.members.is_empty() && !c.names.is_empty(), "{}", c.id);
            for x in c.cross_sensitive {
                assert!(class(x).is_some(), "{} names {x}", c.id);
            }
            // Each member reads back as its own class (no member is claimed by two classes).
            for m in c.members {
                match read(m) {
                    Reading::Member { class, .. } => assert_eq!(class.id, c.id, "{m}"),
                    Reading::Class(k) => assert_eq!(k.id, c.id, "{m}"),
                    other => panic!("{m} reads as {other:?}"),
                }
            }
        }
    }
}
