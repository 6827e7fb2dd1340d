//! Check digits: NHS number (Modulus 11), SNOMED CT / dm+d identifiers (Verhoeff) and GTINs (GS1).

/// An NHS number is ten digits; the tenth is a Modulus 11 check over the first nine with weights
/// 10..2. Spaces and dashes as people write them ("943 476 5919") are accepted.
pub fn nhs_number_is_valid(s: &str) -> bool {
    let digits: Vec<u32> = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .map(|c| c.to_digit(10))
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    if digits.len() != 10 {
        return false;
    }
    let sum: u32 = digits[..9]
        .iter()
        .enumerate()
        .map(|(i, d)| d * (10 - i as u32))
        .sum();
    let check = match 11 - (sum % 11) {
        11 => 0,
        10 => return false,
        c => c,
    };
    check == digits[9]
}

/// Formats an NHS number the way it is printed: 3-3-4 digits.
pub fn format_nhs_number(s: &str) -> String {
    let d: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.len() == 10 {
        format!("{} {} {}", &d[..3], &d[3..6], &d[6..])
    } else {
        s.to_string()
    }
}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// A SNOMED CT identifier (and so a dm+d code) is 6 to 18 digits ending in a Verhoeff check digit.
pub fn snomed_id_is_valid(s: &str) -> bool {
    if !(6..=18).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0')
    {
        return false;
    }
    let mut c = 0u8;
    for (i, b) in s.bytes().rev().enumerate() {
        c = VERHOEFF_D[c as usize][VERHOEFF_P[i % 8][(b - b'0') as usize] as usize];
    }
    c == 0
}

/// GTIN-8/12/13/14 check digit (GS1 mod 10, weights 3 and 1 from the right).
pub fn gtin_is_valid(s: &str) -> bool {
    if !matches!(s.len(), 8 | 12 | 13 | 14) || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let digits: Vec<u32> = s.bytes().map(|b| (b - b'0') as u32).collect();
    let (body, check) = digits.split_at(digits.len() - 1);
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d * 3 } else { *d })
        .sum();
    (10 - sum % 10) % 10 == check[0]
}

/// GTINs are compared as GTIN-14: an EAN-13 on a box and the same GTIN in a DataMatrix (with a
/// leading zero) name one product.
pub fn gtin14(s: &str) -> String {
    format!("{s:0>14}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers() {
        // The NHS's own published example, and the test numbers used in the demo home.
        assert!(nhs_number_is_valid("9434765919"));
        assert!(nhs_number_is_valid("943 476 5919"));
        assert!(!nhs_number_is_valid("9434765918"));
        assert!(!nhs_number_is_valid("943476591"));
        assert!(!nhs_number_is_valid("94347659190"));
        assert!(!nhs_number_is_valid("94347659x9"));
        assert_eq!(format_nhs_number("9434765919"), "943 476 5919");
    }

    #[test]
    fn nhs_check_digit_of_ten_is_invalid() {
        // 000000001x: sum = 2, 11 - 2 = 9, so ...19 is valid; find a body whose check would be 10.
        // Weights 10..2 over 000000010 give sum 3, 11-3 = 8; over 000000100 give 4 -> 7;
        // body 000000060 gives 18 -> 11 - 7 = 4. Body 100000000 gives 10 -> check 1.
        // Body 000000005: sum 10 -> check 1. Body 000000050: 15 -> 11-4 = 7.
        // Body 000001000: 5 -> 6. Body 000000001 * weight 2 = 2 -> 9. A check of 10 needs sum%11 == 1:
        // body 000000000 + digit weights giving 12: 000000006 (6*2) -> 12 % 11 = 1.
        assert!(!(0..10).any(|d| nhs_number_is_valid(&format!("000000006{d}"))));
    }

    #[test]
    fn snomed_ids() {
        // VTM "Paracetamol" and VMP "Paracetamol 500mg tablets" from dm+d.
        assert!(snomed_id_is_valid("90332006"));
        assert!(snomed_id_is_valid("322236009"));
        assert!(!snomed_id_is_valid("322236008"));
        assert!(!snomed_id_is_valid("12"));
    }

    #[test]
    fn gtins() {
        assert!(gtin_is_valid("5000000000012"));
        assert!(!gtin_is_valid("5000000000013"));
        assert!(gtin_is_valid("05000000000012"));
        assert_eq!(gtin14("5000000000012"), "05000000000012");
    }
}
