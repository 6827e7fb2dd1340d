//! A small PDF writer: A4 pages of text, lines and filled boxes in the standard Helvetica
//! fonts, which every PDF reader carries, so nothing is embedded and a page stays a few
//! kilobytes. Text is WinAnsi-encoded; characters outside it print as "?".

use std::fmt::Write;

/// A4 landscape, in points.
pub const PAGE_W: f32 = 842.0;
pub const PAGE_H: f32 = 595.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
}

/// One page's drawing operations, in PDF coordinates from the top left (y grows down here and
/// is flipped when written).
#[derive(Debug, Default)]
pub struct Page {
    ops: String,
}

impl Page {
    pub fn text(&mut self, x: f32, y: f32, size: f32, font: Font, s: &str) {
        let f = match font {
            Font::Regular => "F1",
            Font::Bold => "F2",
        };
        let _ = writeln!(
            self.ops,
            "BT /{f} {size:.1} Tf {x:.2} {:.2} Td ({}) Tj ET",
            PAGE_H - y,
            escape(s)
        );
    }

    /// Text cut to fit `width`, with an ellipsis when cut.
    pub fn text_fit(&mut self, x: f32, y: f32, size: f32, font: Font, s: &str, width: f32) {
        self.text(x, y, size, font, &fit(s, size, font, width));
    }

    /// Text centred on `cx`.
    pub fn text_centred(&mut self, cx: f32, y: f32, size: f32, font: Font, s: &str) {
        let w = text_width(s, size, font);
        self.text(cx - w / 2.0, y, size, font, s);
    }

    pub fn line(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, width: f32) {
        let _ = writeln!(
            self.ops,
            "{width:.2} w {x1:.2} {:.2} m {x2:.2} {:.2} l S",
            PAGE_H - y1,
            PAGE_H - y2
        );
    }

    /// A rectangle filled with a grey level (0 black, 1 white).
    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, grey: f32) {
        let _ = writeln!(
            self.ops,
            "q {grey:.2} g {x:.2} {:.2} {w:.2} {h:.2} re f Q",
            PAGE_H - y - h
        );
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        let _ = writeln!(
            self.ops,
            "{width:.2} w {x:.2} {:.2} {w:.2} {h:.2} re S",
            PAGE_H - y - h
        );
    }

    /// White text (on a dark fill).
    pub fn text_white(&mut self, x: f32, y: f32, size: f32, font: Font, s: &str) {
        self.ops.push_str("q 1 g\n");
        self.text(x, y, size, font, s);
        self.ops.push_str("Q\n");
    }
}

/// Writes the document: catalog, page tree, the two fonts, then each page and its content.
pub fn write(pages: &[Page], title: &str) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut offsets: Vec<usize> = Vec::new();
    out.extend_from_slice(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");
    let n = pages.len();
    // Objects: 1 catalog, 2 pages, 3 Helvetica, 4 Helvetica-Bold, 5 info, then page i at
    // 6 + 2i and its content at 7 + 2i.
    let mut obj = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        let id = offsets.len();
        out.extend_from_slice(format!("{id} 0 obj\n").as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    obj(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 6 + 2 * i)).collect();
    obj(
        &mut out,
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).as_bytes(),
    );
    for base in ["Helvetica", "Helvetica-Bold"] {
        obj(
            &mut out,
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
            )
            .as_bytes(),
        );
    }
    obj(
        &mut out,
        format!("<< /Title ({}) /Producer (Medround) >>", escape(title)).as_bytes(),
    );
    for (i, p) in pages.iter().enumerate() {
        obj(
            &mut out,
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
                 /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                7 + 2 * i
            )
            .as_bytes(),
        );
        let bytes = encode(&p.ops);
        let mut body = format!("<< /Length {} >>\nstream\n", bytes.len()).into_bytes();
        body.extend_from_slice(&bytes);
        body.extend_from_slice(b"\nendstream");
        obj(&mut out, &body);
    }
    let xref = out.len();
    let mut tail = format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1);
    for o in &offsets {
        let _ = writeln!(tail, "{o:010} 00000 n ");
    }
    let _ = write!(
        tail,
        "trailer\n<< /Size {} /Root 1 0 R /Info 5 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        offsets.len() + 1
    );
    out.extend_from_slice(tail.as_bytes());
    out
}

/// A content stream's text in WinAnsi bytes.
fn encode(ops: &str) -> Vec<u8> {
    ops.chars().map(win_ansi).collect()
}

fn win_ansi(c: char) -> u8 {
    match c {
        '\u{20}'..='\u{7e}' | '\n' => c as u8,
        '\u{a0}'..='\u{ff}' => c as u32 as u8,
        '\u{2018}' => 0x91,
        '\u{2019}' => 0x92,
        '\u{201c}' => 0x93,
        '\u{201d}' => 0x94,
        '\u{2022}' => 0x95,
        '\u{2013}' => 0x96,
        '\u{2014}' => 0x97,
        '\u{2026}' => 0x85,
        _ => b'?',
    }
}

/// A PDF string literal's body: brackets and backslashes escaped, control characters dropped.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Glyph widths (thousandths of the size) of WinAnsi 32..=126, from the fonts' Adobe metrics.
const REGULAR: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];
const BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

pub fn text_width(s: &str, size: f32, font: Font) -> f32 {
    let table = match font {
        Font::Regular => &REGULAR,
        Font::Bold => &BOLD,
    };
    let units: u32 = s
        .chars()
        .map(|c| match c as u32 {
            32..=126 => u32::from(table[(c as u32 - 32) as usize]),
            _ => 556,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// `s` cut to `width`, ending in an ellipsis when cut.
pub fn fit(s: &str, size: f32, font: Font, width: f32) -> String {
    if text_width(s, size, font) <= width {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        out.push(c);
        if text_width(&format!("{out}\u{2026}"), size, font) > width {
            out.pop();
            break;
        }
    }
    format!("{}\u{2026}", out.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `needle` first occurs in `hay` at or after `from`.
    fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
        hay[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| i + from)
    }

    #[test]
    fn a_document_has_a_cross_reference_that_points_at_every_object() {
        let mut p = Page::default();
        p.text(10.0, 20.0, 10.0, Font::Bold, "Edith (Edie) Walker \\ 100%");
        let pdf = write(&[p, Page::default()], "MAR");
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(find(&pdf, b"(Edith \\(Edie\\) Walker \\\\ 100%) Tj", 0).is_some());
        // The offsets are byte offsets: the binary comment on line two must not shift them.
        let sx = find(&pdf, b"startxref\n", 0).unwrap() + 10;
        let end = find(&pdf, b"\n", sx).unwrap();
        let at: usize = std::str::from_utf8(&pdf[sx..end]).unwrap().parse().unwrap();
        assert!(pdf[at..].starts_with(b"xref\n0 10\n"));
        // Every object offset lands on "N 0 obj": 5 fixed objects and two per page.
        let table = std::str::from_utf8(&pdf[at..sx]).unwrap();
        let entries: Vec<&str> = table.lines().skip(3).take(9).collect();
        assert_eq!(entries.len(), 9);
        for (i, line) in entries.iter().enumerate() {
            let off: usize = line[..10].parse().unwrap();
            let want = format!("{} 0 obj", i + 1);
            assert!(pdf[off..].starts_with(want.as_bytes()), "object {}", i + 1);
        }
        assert!(pdf.ends_with(b"%%EOF\n"));
    }

    #[test]
    fn text_is_cut_to_fit_with_an_ellipsis() {
        let s = "Co-codamol 30mg/500mg tablets, two when required";
        let cut = fit(s, 8.0, Font::Regular, 60.0);
        assert!(cut.ends_with('\u{2026}'));
        assert!(text_width(&cut, 8.0, Font::Regular) <= 60.0);
        assert_eq!(fit("Short", 8.0, Font::Regular, 60.0), "Short");
        assert_eq!(win_ansi('\u{2019}'), 0x92);
        assert_eq!(win_ansi('\u{4e2d}'), b'?');
    }
}
