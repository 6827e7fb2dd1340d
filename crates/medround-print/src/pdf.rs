//! A4 pages of text, lines and filled boxes, written as PDF by krilla with the DejaVu Sans
//! fonts embedded (subsetted to the glyphs used). DejaVu covers Latin with its extensions
//! (Polish, Vietnamese), Greek, Cyrillic and Arabic, and text is shaped as krilla draws it, so
//! a resident's name prints as it is written: the MAR is a legal record that identifies the
//! person, and the standard PDF fonts carry Windows-1252 only.

use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::TextDirection;
use std::sync::OnceLock;

/// A4 landscape, in points.
pub const PAGE_W: f32 = 842.0;
pub const PAGE_H: f32 = 595.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    Regular,
    Bold,
}

/// The fonts, shipped with the app (`fonts/`, the Bitstream Vera licence in `fonts/LICENSE`).
static REGULAR_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

impl Font {
    fn krilla(self) -> krilla::text::Font {
        static FONTS: OnceLock<[Option<krilla::text::Font>; 2]> = OnceLock::new();
        let fonts = FONTS.get_or_init(|| {
            [
                krilla::text::Font::new(REGULAR_TTF.into(), 0),
                krilla::text::Font::new(BOLD_TTF.into(), 0),
            ]
        });
        let f = match self {
            Font::Regular => &fonts[0],
            Font::Bold => &fonts[1],
        };
        f.clone().expect("the shipped fonts are valid TrueType")
    }

    fn face(self) -> &'static rustybuzz::Face<'static> {
        static FACES: OnceLock<[Option<rustybuzz::Face<'static>>; 2]> = OnceLock::new();
        let faces = FACES.get_or_init(|| {
            [
                rustybuzz::Face::from_slice(REGULAR_TTF, 0),
                rustybuzz::Face::from_slice(BOLD_TTF, 0),
            ]
        });
        let f = match self {
            Font::Regular => &faces[0],
            Font::Bold => &faces[1],
        };
        f.as_ref().expect("the shipped fonts are valid TrueType")
    }
}

/// What a page draws, in order, in points from the top left (y grows down; a text's y is its
/// baseline).
#[derive(Debug, Clone)]
enum Mark {
    Text {
        x: f32,
        y: f32,
        size: f32,
        font: Font,
        text: String,
        white: bool,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
        width: f32,
    },
    Fill {
        rect: (f32, f32, f32, f32),
        grey: f32,
    },
    Rect {
        rect: (f32, f32, f32, f32),
        width: f32,
    },
}

/// One page's drawing, kept until the document is written.
#[derive(Debug, Default)]
pub struct Page {
    marks: Vec<Mark>,
}

/// Text as the page prints it: control characters become spaces.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Page {
    pub fn text(&mut self, x: f32, y: f32, size: f32, font: Font, s: &str) {
        self.marks.push(Mark::Text {
            x,
            y,
            size,
            font,
            text: printable(s),
            white: false,
        });
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
        self.marks.push(Mark::Line {
            from: (x1, y1),
            to: (x2, y2),
            width,
        });
    }

    /// A rectangle filled with a grey level (0 black, 1 white).
    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, grey: f32) {
        self.marks.push(Mark::Fill {
            rect: (x, y, w, h),
            grey,
        });
    }

    pub fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, width: f32) {
        self.marks.push(Mark::Rect {
            rect: (x, y, w, h),
            width,
        });
    }

    /// White text (on a dark fill).
    pub fn text_white(&mut self, x: f32, y: f32, size: f32, font: Font, s: &str) {
        self.marks.push(Mark::Text {
            x,
            y,
            size,
            font,
            text: printable(s),
            white: true,
        });
    }

    fn draw(&self, surface: &mut Surface<'_>) {
        let grey = |level: f32| luma::Color::new((level.clamp(0.0, 1.0) * 255.0).round() as u8);
        for mark in &self.marks {
            match mark {
                Mark::Text {
                    x,
                    y,
                    size,
                    font,
                    text,
                    white,
                } => {
                    if text.trim().is_empty() {
                        continue;
                    }
                    surface.set_stroke(None);
                    surface.set_fill(Some(Fill {
                        paint: grey(if *white { 1.0 } else { 0.0 }).into(),
                        opacity: NormalizedF32::ONE,
                        rule: Default::default(),
                    }));
                    surface.draw_text(
                        Point::from_xy(*x, *y),
                        font.krilla(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Mark::Line { from, to, width } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(from.0, from.1);
                    pb.line_to(to.0, to.1);
                    if let Some(path) = pb.finish() {
                        stroke(surface, *width);
                        surface.draw_path(&path);
                    }
                }
                Mark::Fill { rect, grey: level } => {
                    if let Some(path) = rect_path(*rect) {
                        surface.set_stroke(None);
                        surface.set_fill(Some(Fill {
                            paint: grey(*level).into(),
                            opacity: NormalizedF32::ONE,
                            rule: Default::default(),
                        }));
                        surface.draw_path(&path);
                    }
                }
                Mark::Rect { rect, width } => {
                    if let Some(path) = rect_path(*rect) {
                        stroke(surface, *width);
                        surface.draw_path(&path);
                    }
                }
            }
        }
    }
}

/// The next paths are outlined in black, `width` points wide, and not filled.
fn stroke(surface: &mut Surface<'_>, width: f32) {
    surface.set_fill(None);
    surface.set_stroke(Some(Stroke {
        width,
        ..Stroke::default()
    }));
}

fn rect_path((x, y, w, h): (f32, f32, f32, f32)) -> Option<krilla::geom::Path> {
    let mut pb = PathBuilder::new();
    pb.push_rect(Rect::from_xywh(x, y, w, h)?);
    pb.finish()
}

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
#[error("the PDF could not be written: {0}")]
pub struct PdfError(String);

/// Writes the document: each page in turn, the fonts subsetted to what the pages use, and the
/// title in the document's metadata.
pub fn write(pages: &[Page], title: &str) -> Result<Vec<u8>, PdfError> {
    let mut document = krilla::Document::new();
    document.set_metadata(
        krilla::metadata::Metadata::new()
            .title(printable(title))
            .producer("Medround".into()),
    );
    let settings =
        || PageSettings::from_wh(PAGE_W, PAGE_H).expect("A4 landscape is a valid page size");
    for p in pages {
        let mut page = document.start_page_with(settings());
        let mut surface = page.surface();
        p.draw(&mut surface);
        surface.finish();
        page.finish();
    }
    if pages.is_empty() {
        // A document has at least one page.
        document.start_page_with(settings()).finish();
    }
    document.finish().map_err(|e| PdfError(format!("{e:?}")))
}

/// How wide `s` prints, shaped as it will be drawn.
pub fn text_width(s: &str, size: f32, font: Font) -> f32 {
    let face = font.face();
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(&printable(s));
    buffer.guess_segment_properties();
    let shaped = rustybuzz::shape(face, &[], buffer);
    let units: i32 = shaped.glyph_positions().iter().map(|g| g.x_advance).sum();
    units as f32 * size / f32::from(face.units_per_em() as u16)
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

    #[test]
    fn a_document_is_written_with_its_fonts_embedded() {
        let mut p = Page::default();
        p.text(10.0, 20.0, 10.0, Font::Bold, "Edith (Edie) Walker \\ 100%");
        p.rect(10.0, 30.0, 100.0, 20.0, 0.5);
        p.fill(10.0, 60.0, 100.0, 20.0, 0.8);
        p.line(10.0, 90.0, 110.0, 90.0, 0.5);
        let pdf = write(&[p, Page::default()], "MAR").unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let find = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
        assert!(find(b"/FontFile2"), "a TrueType font is embedded");
        assert!(find(b"/Count 2"), "two pages");
        assert!(!write(&[], "empty").unwrap().is_empty());
    }

    #[test]
    fn text_is_cut_to_fit_with_an_ellipsis() {
        let s = "Co-codamol 30mg/500mg tablets, two when required";
        let cut = fit(s, 8.0, Font::Regular, 60.0);
        assert!(cut.ends_with('\u{2026}'));
        assert!(text_width(&cut, 8.0, Font::Regular) <= 60.0);
        assert_eq!(fit("Short", 8.0, Font::Regular, 60.0), "Short");
        // Wider letters take more room, and bold more than regular.
        assert!(text_width("WWW", 10.0, Font::Regular) > text_width("iii", 10.0, Font::Regular));
        assert!(text_width("Łucja", 10.0, Font::Bold) > text_width("Łucja", 10.0, Font::Regular));
    }
}
