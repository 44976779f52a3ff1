//! Synthetic logos: SVG documents drawn at random, but reproducibly, in four classes
//! ([`LogoClass`]) that look the way designers' marks of that kind look.
//!
//! [`generate`] is a pure function of `(class, seed)`: the generator is a ChaCha8 stream seeded from
//! both, all geometry uses only IEEE basic arithmetic (the trigonometry and the exponential are
//! computed here, not by the platform's maths library) and every number is written with a fixed
//! number of decimals, so the same inputs give byte-identical SVG on every machine.
//!
//! Each SVG has `width`, `height` and `viewBox="0 0 W H"` equal to its pixel size, so rendering it
//! at `width x height` is 1:1. Text uses only the bold faces of [`crate::render::FONT_FAMILIES`].
//!
//! | class | what is drawn |
//! |---|---|
//! | `simple_geometric` | 1-4 flat shapes (circle, square, rounded square, triangle, regular polygon, star, ring), 1-4 flat colours, single / concentric / row / overlapping layouts |
//! | `text_based` | a bold wordmark of 2-12 characters (pseudo-word, or initials in a badge outline), 1-2 colours, optionally an underline bar, fitted inside the canvas |
//! | `gradient` | a linear or radial gradient (2-4 smooth stops) on the background or on a large shape, optionally a second gradient shape and a small flat shape on top |
//! | `complex` | an emblem of 10-40 overlapping elements: Bézier petals and blobs, polygons, strokes of varying width, rings, dots, optionally a gradient and small text, 5-8 colours |

use std::fmt::Write as _;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::render::FONT_FAMILIES;

/// The kind of logo a synthetic sample is; the labels of the logo classifier.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LogoClass {
    /// A few flat geometric shapes in a few flat colours.
    SimpleGeometric,
    /// A wordmark: bold text dominates.
    TextBased,
    /// Smooth linear or radial shading over a large share of the image.
    Gradient,
    /// A busy mark of many overlapping curved elements and colours.
    Complex,
}

impl LogoClass {
    /// All classes, in [`vectune_core::manifest::LOGO_CLASSES`] order.
    pub const ALL: [LogoClass; 4] = [
        LogoClass::SimpleGeometric,
        LogoClass::TextBased,
        LogoClass::Gradient,
        LogoClass::Complex,
    ];

    /// The label, as in [`vectune_core::manifest::LOGO_CLASSES`].
    pub fn name(self) -> &'static str {
        match self {
            LogoClass::SimpleGeometric => "simple_geometric",
            LogoClass::TextBased => "text_based",
            LogoClass::Gradient => "gradient",
            LogoClass::Complex => "complex",
        }
    }

    /// Position in [`LogoClass::ALL`] (and in the classifier's logits).
    pub fn index(self) -> usize {
        match self {
            LogoClass::SimpleGeometric => 0,
            LogoClass::TextBased => 1,
            LogoClass::Gradient => 2,
            LogoClass::Complex => 3,
        }
    }

    /// The class with this label, if any.
    pub fn from_name(s: &str) -> Option<LogoClass> {
        LogoClass::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// One generated logo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SynthLogo {
    /// The SVG document (`width`, `height` and `viewBox` equal to the pixel size).
    pub svg: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Whether the logo is meant to be rendered on a transparent background (it then has no
    /// background shape).
    pub transparent: bool,
    /// The class it was drawn as.
    pub class: LogoClass,
}

/// Smallest long side, pixels.
pub const MIN_LONG_SIDE: u32 = 64;
/// Largest long side, pixels.
pub const MAX_LONG_SIDE: u32 = 1024;
/// Largest aspect ratio (long side / short side).
pub const MAX_ASPECT: f64 = 3.0;
/// Probability that a logo is delivered with a transparent background.
pub const TRANSPARENT_PROBABILITY: f64 = 0.4;

/// Draws the logo of `class` number `seed`. Deterministic: the same inputs give the same SVG bytes.
pub fn generate(class: LogoClass, seed: u64) -> SynthLogo {
    let mixed = seed
        ^ (class.index() as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ 0x5EED_1060_5A17_0000;
    let mut rng = ChaCha8Rng::seed_from_u64(mixed);
    let (width, height) = draw_size(&mut rng, class);
    let transparent = rng.random_bool(TRANSPARENT_PROBABILITY);
    let mut c = Canvas {
        rng,
        w: f64::from(width),
        h: f64::from(height),
        defs: String::new(),
        body: String::new(),
        ids: 0,
        transparent,
    };
    match class {
        LogoClass::SimpleGeometric => simple_geometric(&mut c),
        LogoClass::TextBased => text_based(&mut c),
        LogoClass::Gradient => gradient(&mut c),
        LogoClass::Complex => complex(&mut c),
    }
    let mut svg = String::with_capacity(c.defs.len() + c.body.len() + 200);
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">"#
    );
    if !c.defs.is_empty() {
        svg.push_str("<defs>");
        svg.push_str(&c.defs);
        svg.push_str("</defs>");
    }
    svg.push_str(&c.body);
    svg.push_str("</svg>\n");
    SynthLogo {
        svg,
        width,
        height,
        transparent,
        class,
    }
}

/// Long side log-uniform in `MIN_LONG_SIDE..=MAX_LONG_SIDE`; aspect mostly near 1, up to 3:1, either
/// orientation (wordmarks lean landscape).
fn draw_size(rng: &mut ChaCha8Rng, class: LogoClass) -> (u32, u32) {
    let octaves = (f64::from(MAX_LONG_SIDE) / f64::from(MIN_LONG_SIDE)).log2_exact();
    let long = (f64::from(MIN_LONG_SIDE) * det::exp2(octaves * rng.random::<f64>())).round();
    let long = long.clamp(f64::from(MIN_LONG_SIDE), f64::from(MAX_LONG_SIDE));
    let u: f64 = rng.random();
    let aspect = if rng.random_bool(0.5) {
        1.0 + 0.15 * u
    } else {
        1.0 + (MAX_ASPECT - 1.0) * u * u
    };
    let short = (long / aspect).round().clamp(1.0, long);
    let landscape_p = if class == LogoClass::TextBased {
        0.8
    } else {
        0.5
    };
    let (w, h) = if rng.random_bool(landscape_p) {
        (long, short)
    } else {
        (short, long)
    };
    (w as u32, h as u32)
}

trait Log2Exact {
    fn log2_exact(self) -> f64;
}

impl Log2Exact for f64 {
    /// log2 of a power of two, exactly (16 -> 4); other values are rounded down to one.
    fn log2_exact(self) -> f64 {
        let mut x = self;
        let mut n = 0.0;
        while x >= 2.0 {
            x /= 2.0;
            n += 1.0;
        }
        n
    }
}

/// Platform-independent maths from IEEE basic operations only.
mod det {
    use std::f64::consts::PI;

    /// Sine by argument reduction and a Taylor series (error < 1e-15 on the reduced range).
    pub fn sin(x: f64) -> f64 {
        if !x.is_finite() {
            return 0.0;
        }
        let tau = 2.0 * PI;
        let mut x = x - tau * (x / tau).round();
        if x > PI / 2.0 {
            x = PI - x;
        } else if x < -PI / 2.0 {
            x = -PI - x;
        }
        let x2 = x * x;
        let mut term = x;
        let mut sum = x;
        for k in 1..12 {
            let k = f64::from(k);
            term *= -x2 / ((2.0 * k) * (2.0 * k + 1.0));
            sum += term;
        }
        sum
    }

    /// Cosine.
    pub fn cos(x: f64) -> f64 {
        sin(x + PI / 2.0)
    }

    /// 2^x.
    pub fn exp2(x: f64) -> f64 {
        if !x.is_finite() {
            return 1.0;
        }
        let n = x.floor();
        let f = (x - n) * std::f64::consts::LN_2;
        let mut term = 1.0;
        let mut sum = 1.0;
        for k in 1..25 {
            term *= f / f64::from(k);
            sum += term;
        }
        let mut scale = 1.0;
        let mut i = n;
        while i > 0.0 {
            scale *= 2.0;
            i -= 1.0;
        }
        while i < 0.0 {
            scale /= 2.0;
            i += 1.0;
        }
        sum * scale
    }
}

// ---------------------------------------------------------------------------------------------
// Canvas, numbers, colours

struct Canvas {
    rng: ChaCha8Rng,
    w: f64,
    h: f64,
    defs: String,
    body: String,
    ids: u32,
    transparent: bool,
}

/// A number with two decimals (fixed, so output is byte-stable).
fn n(x: f64) -> String {
    let s = format!("{x:.2}");
    if s == "-0.00" { "0.00".to_string() } else { s }
}

impl Canvas {
    fn short(&self) -> f64 {
        self.w.min(self.h)
    }
    fn cx(&self) -> f64 {
        self.w / 2.0
    }
    fn cy(&self) -> f64 {
        self.h / 2.0
    }
    /// Uniform in `[a, b)`, `a` if the range is empty.
    fn uni(&mut self, a: f64, b: f64) -> f64 {
        if b > a {
            a + (b - a) * self.rng.random::<f64>()
        } else {
            a
        }
    }
    /// Integer uniform in `a..=b`, `a` if the range is empty.
    fn int(&mut self, a: usize, b: usize) -> usize {
        if b > a {
            self.rng.random_range(a..=b)
        } else {
            a
        }
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }
    fn pick<T: Copy>(&mut self, items: &[T], fallback: T) -> T {
        if items.is_empty() {
            return fallback;
        }
        let i = self.int(0, items.len() - 1);
        items.get(i).copied().unwrap_or(fallback)
    }
    fn id(&mut self, prefix: &str) -> String {
        self.ids += 1;
        format!("{prefix}{}", self.ids)
    }
    fn push(&mut self, element: &str) {
        self.body.push_str(element);
    }
    /// A full-canvas background rectangle.
    fn background(&mut self, fill: &str) {
        let el = format!(
            r#"<rect x="0" y="0" width="{}" height="{}" fill="{fill}"/>"#,
            n(self.w),
            n(self.h)
        );
        self.push(&el);
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Rgb(f64, f64, f64);

impl Rgb {
    const WHITE: Rgb = Rgb(1.0, 1.0, 1.0);

    fn hsl(h: f64, s: f64, l: f64) -> Rgb {
        let h = (h % 360.0 + 360.0) % 360.0;
        let s = s.clamp(0.0, 1.0);
        let l = l.clamp(0.0, 1.0);
        let c = (1.0 - (2.0 * l - 1.0).abs()) * s;
        let hp = h / 60.0;
        let x = c * (1.0 - (hp % 2.0 - 1.0).abs());
        let (r, g, b) = match hp as u32 {
            0 => (c, x, 0.0),
            1 => (x, c, 0.0),
            2 => (0.0, c, x),
            3 => (0.0, x, c),
            4 => (x, 0.0, c),
            _ => (c, 0.0, x),
        };
        let m = l - c / 2.0;
        Rgb(r + m, g + m, b + m)
    }
    fn luma(self) -> f64 {
        0.299 * self.0 + 0.587 * self.1 + 0.114 * self.2
    }
    fn hex(self) -> String {
        let q = |v: f64| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        format!("#{:02x}{:02x}{:02x}", q(self.0), q(self.1), q(self.2))
    }
}

/// A palette of `count` harmonious colours (a scheme around a random base hue, sometimes with a
/// near-black ink), all distinct.
fn palette(c: &mut Canvas, count: usize) -> Vec<Rgb> {
    let base = c.uni(0.0, 360.0);
    let scheme = c.int(0, 4);
    let sat = c.uni(0.55, 0.95);
    let mut out: Vec<Rgb> = Vec::with_capacity(count);
    let with_ink = count >= 2 && c.chance(0.35);
    let mut i = 0usize;
    while out.len() < count {
        if with_ink && out.len() == 1 {
            let ink = Rgb::hsl(base + c.uni(-20.0, 20.0), c.uni(0.1, 0.4), c.uni(0.08, 0.2));
            out.push(ink);
            continue;
        }
        let k = i as f64;
        let hue = match scheme {
            0 => base + 30.0 * k * if i.is_multiple_of(2) { 1.0 } else { -1.0 }, // analogous
            1 => base + 180.0 * k + c.uni(-15.0, 15.0),                          // complementary
            2 => base + 120.0 * k,                                               // triadic
            3 => base + c.uni(-10.0, 10.0),                                      // monochrome
            _ => base + c.uni(0.0, 360.0),                                       // free
        };
        let light = if scheme == 3 {
            0.25 + 0.5 * ((k * 0.37) % 1.0)
        } else {
            c.uni(0.35, 0.62)
        };
        let col = Rgb::hsl(hue, sat * c.uni(0.85, 1.0), light);
        let distinct = out
            .iter()
            .all(|o| (o.0 - col.0).abs() + (o.1 - col.1).abs() + (o.2 - col.2).abs() > 0.25);
        if distinct || i > 40 {
            out.push(col);
        }
        i += 1;
    }
    out
}

/// A colour that stands out against `bg`: `want` if it contrasts enough, else a light or dark
/// version of its hue.
fn contrasting(want: Rgb, bg: Rgb) -> Rgb {
    if (want.luma() - bg.luma()).abs() >= 0.3 {
        return want;
    }
    let (r, g, b) = (want.0, want.1, want.2);
    if bg.luma() > 0.5 {
        Rgb(r * 0.35, g * 0.35, b * 0.35)
    } else {
        Rgb(0.75 + 0.25 * r, 0.75 + 0.25 * g, 0.75 + 0.25 * b)
    }
}

/// The background behind an opaque logo: `None` (white, drawn or implied) or a colour it painted.
fn opaque_background(c: &mut Canvas, coloured_p: f64, pal: &[Rgb]) -> Rgb {
    if c.transparent {
        return Rgb::WHITE;
    }
    if c.chance(coloured_p) {
        let base = pal.first().copied().unwrap_or(Rgb(0.2, 0.3, 0.5));
        let bg = match c.int(0, 2) {
            0 => Rgb(0.9 + 0.1 * base.0, 0.9 + 0.1 * base.1, 0.9 + 0.1 * base.2), // tint
            1 => Rgb(base.0 * 0.3, base.1 * 0.3, base.2 * 0.3),                   // deep
            _ => base,                                                            // brand colour
        };
        c.background(&bg.hex());
        bg
    } else {
        if c.chance(0.5) {
            c.background("#ffffff");
        }
        Rgb::WHITE
    }
}

// ---------------------------------------------------------------------------------------------
// Shapes

#[derive(Clone, Copy, Debug, PartialEq)]
enum Shape {
    Circle,
    Square,
    RoundedSquare,
    Diamond,
    Triangle,
    Polygon(u32),
    Star(u32, f64),
    Ring(f64),
}

fn random_shape(c: &mut Canvas) -> Shape {
    match c.int(0, 8) {
        0 | 1 => Shape::Circle,
        2 => Shape::Square,
        3 => Shape::RoundedSquare,
        4 => Shape::Diamond,
        5 => Shape::Triangle,
        6 => Shape::Polygon(c.int(5, 8) as u32),
        7 => {
            let points = c.int(4, 8) as u32;
            let inner = c.uni(0.38, 0.6);
            Shape::Star(points, inner)
        }
        _ => Shape::Ring(c.uni(0.45, 0.75)),
    }
}

/// Outline points of a regular polygon or star inscribed in radius `r`.
fn star_points(cx: f64, cy: f64, r: f64, points: u32, inner: f64, rot: f64) -> String {
    let mut d = String::new();
    let steps = if inner >= 1.0 { points } else { points * 2 };
    for k in 0..steps {
        let a = rot + std::f64::consts::TAU * f64::from(k) / f64::from(steps);
        let rr = if inner < 1.0 && k % 2 == 1 {
            r * inner
        } else {
            r
        };
        let _ = write!(
            d,
            "{}{},{} ",
            if k == 0 { "M" } else { "L" },
            n(cx + rr * det::sin(a)),
            n(cy - rr * det::cos(a))
        );
    }
    d.push('Z');
    d
}

/// A circle as a path (two arcs), for even-odd combinations.
fn circle_path(cx: f64, cy: f64, r: f64) -> String {
    format!(
        "M{},{} A{},{} 0 1 0 {},{} A{},{} 0 1 0 {},{} Z",
        n(cx - r),
        n(cy),
        n(r),
        n(r),
        n(cx + r),
        n(cy),
        n(r),
        n(r),
        n(cx - r),
        n(cy)
    )
}

/// SVG element for `shape` fitting in a circle of radius `r` around `(cx, cy)`.
fn shape_svg(shape: Shape, cx: f64, cy: f64, r: f64, rot: f64, fill: &str) -> String {
    match shape {
        Shape::Circle => format!(
            r#"<circle cx="{}" cy="{}" r="{}" fill="{fill}"/>"#,
            n(cx),
            n(cy),
            n(r)
        ),
        Shape::Square | Shape::RoundedSquare => {
            let half = r * 0.8;
            let rx = if shape == Shape::RoundedSquare {
                half * 0.35
            } else {
                0.0
            };
            format!(
                r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{fill}"/>"#,
                n(cx - half),
                n(cy - half),
                n(2.0 * half),
                n(2.0 * half),
                n(rx)
            )
        }
        Shape::Diamond => format!(
            r#"<path d="{}" fill="{fill}"/>"#,
            star_points(cx, cy, r, 4, 1.0, 0.0)
        ),
        Shape::Triangle => format!(
            r#"<path d="{}" fill="{fill}"/>"#,
            star_points(cx, cy + r * 0.15, r, 3, 1.0, rot)
        ),
        Shape::Polygon(k) => format!(
            r#"<path d="{}" fill="{fill}"/>"#,
            star_points(cx, cy, r, k, 1.0, rot)
        ),
        Shape::Star(k, inner) => format!(
            r#"<path d="{}" fill="{fill}"/>"#,
            star_points(cx, cy, r, k, inner, 0.0)
        ),
        Shape::Ring(inner) => format!(
            r#"<path d="{} {}" fill="{fill}" fill-rule="evenodd"/>"#,
            circle_path(cx, cy, r),
            circle_path(cx, cy, r * inner)
        ),
    }
}

/// How much of its bounding circle a shape leaves free inside: the radius of the largest circle
/// centred in it, as a fraction of `r`.
fn inner_radius(shape: Shape) -> f64 {
    match shape {
        Shape::Circle => 1.0,
        Shape::Square | Shape::RoundedSquare => 0.8,
        Shape::Diamond => 0.7,
        Shape::Triangle => 0.45,
        Shape::Polygon(_) => 0.85,
        Shape::Star(_, inner) => inner * 0.8,
        Shape::Ring(inner) => inner,
    }
}

// ---------------------------------------------------------------------------------------------
// simple_geometric

fn simple_geometric(c: &mut Canvas) {
    let ncol = c.int(1, 4);
    let pal = palette(c, ncol.max(1));
    let bg = opaque_background(c, 0.3, &pal);
    let colours: Vec<String> = pal.iter().map(|&p| contrasting(p, bg).hex()).collect();
    let colour = |i: usize| colours[i % colours.len()].clone();
    let s = c.short();
    let (cx, cy) = (c.cx(), c.cy());
    let rot = c.pick(
        &[
            0.0,
            0.0,
            std::f64::consts::PI / 4.0,
            std::f64::consts::PI / 6.0,
        ],
        0.0,
    );
    let long = c.w.max(c.h);
    let mut layout = if long / s > 1.6 {
        c.pick(&[0, 2, 2, 3], 2)
    } else {
        c.int(0, 3)
    };
    if layout == 3 && colours.len() < 2 {
        layout = 2; // overlapping shapes of one colour would merge into a blob
    }
    match layout {
        // One shape.
        0 => {
            let shape = random_shape(c);
            let r = s * c.uni(0.3, 0.44);
            let el = shape_svg(shape, cx, cy, r, rot, &colour(0));
            c.push(&el);
        }
        // Concentric: each shape inside the previous one.
        1 => {
            let count = c.int(2, 3);
            let mut r = s * c.uni(0.36, 0.45);
            for i in 0..count {
                let shape = if i + 1 == count {
                    random_shape(c)
                } else {
                    c.pick(
                        &[
                            Shape::Circle,
                            Shape::Square,
                            Shape::RoundedSquare,
                            Shape::Polygon(6),
                        ],
                        Shape::Circle,
                    )
                };
                let el = shape_svg(shape, cx, cy, r, rot, &colour(i));
                c.push(&el);
                r *= inner_radius(shape) * c.uni(0.55, 0.8);
            }
        }
        // A row of shapes along the long side.
        2 => {
            let count = c.int(2, 4);
            let horizontal = c.w >= c.h;
            let along = long * 0.86;
            let r = (along / count as f64 / 2.0 * 0.85).min(s * 0.42);
            let same = c.chance(0.5);
            let first = random_shape(c);
            for i in 0..count {
                let t = (i as f64 + 0.5) / count as f64;
                let p = (long - along) / 2.0 + along * t;
                let (x, y) = if horizontal { (p, cy) } else { (cx, p) };
                let shape = if same { first } else { random_shape(c) };
                let el = shape_svg(shape, x, y, r, rot, &colour(i));
                c.push(&el);
            }
        }
        // Overlapping pair or trio along a diagonal or a line.
        _ => {
            let count = c.int(2, 3);
            let horizontal = c.w >= c.h;
            let r = s * c.uni(0.24, 0.32);
            // Keep the group inside 90% of the long side.
            let spread = (count - 1) as f64;
            let r = r.min(0.9 * long / (2.0 + spread * 0.9) / 1.0);
            let gap = (r * c.uni(0.9, 1.3)).min((0.9 * long - 2.0 * r) / spread);
            let shape = c.pick(
                &[
                    Shape::Circle,
                    Shape::Circle,
                    Shape::RoundedSquare,
                    Shape::Square,
                    Shape::Diamond,
                ],
                Shape::Circle,
            );
            for i in 0..count {
                let off = (i as f64 - (count as f64 - 1.0) / 2.0) * gap;
                let (x, y) = if horizontal {
                    (cx + off, cy)
                } else {
                    (cx, cy + off)
                };
                let el = shape_svg(shape, x, y, r, rot, &colour(i));
                c.push(&el);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// text_based

const SYLLABLES: &[&str] = &[
    "ko", "na", "ri", "vel", "tor", "lu", "mi", "sa", "zen", "ax", "on", "ly", "qui", "bra", "dex",
    "fi", "go", "mo", "ra", "tek", "vo", "lo", "ne", "pa", "xo", "ix", "um", "ster", "flo", "gen",
    "ta", "ro", "sol", "ve", "ni", "ka", "dor", "bel", "tri", "co", "nova", "lin", "ar", "el",
    "pix",
];
const LETTERS: &[u8] = b"ABCDEFGHJKLMNPRSTVWXZ";

/// A pronounceable pseudo-word of `len` letters.
fn pseudo_word(c: &mut Canvas, len: usize) -> String {
    let mut w = String::new();
    while w.len() < len {
        w.push_str(c.pick(SYLLABLES, "ka"));
    }
    w.truncate(len);
    w
}

/// Estimated advance of `text` in ems, deliberately generous (bold faces are wide).
fn text_ems(text: &str, mono: bool) -> f64 {
    text.chars()
        .map(|ch| {
            if mono {
                0.61
            } else if ch == ' ' {
                0.35
            } else if ch == 'm' || ch == 'w' {
                1.05
            } else if ch == 'i' || ch == 'l' || ch == 'j' {
                0.4
            } else if ch == 'M' || ch == 'W' {
                1.05
            } else if ch.is_ascii_uppercase() {
                0.82
            } else {
                0.72
            }
        })
        .sum()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn text_based(c: &mut Canvas) {
    let family_i = c.int(0, FONT_FAMILIES.len() - 1);
    let family = FONT_FAMILIES
        .get(family_i)
        .copied()
        .unwrap_or("DejaVu Sans");
    let mono = family.contains("Mono");
    let pal = palette(c, 2);
    let bg = opaque_background(c, 0.35, &pal);
    let ink_a = if c.chance(0.4) {
        if bg.luma() > 0.5 {
            Rgb::hsl(c.uni(0.0, 360.0), 0.3, 0.12)
        } else {
            Rgb::WHITE
        }
    } else {
        contrasting(pal[0], bg)
    };
    let two_colours = c.chance(0.5);
    let ink_b = if two_colours {
        contrasting(pal.get(1).copied().unwrap_or(pal[0]), bg)
    } else {
        ink_a
    };
    let (a, b) = (ink_a.hex(), ink_b.hex());
    let (w, h, s) = (c.w, c.h, c.short());
    let (cx, cy) = (c.cx(), c.cy());

    // Initials in a badge when the canvas is squarish, otherwise a wordmark.
    let squarish = w.max(h) / s < 1.4;
    if squarish && c.chance(0.4) {
        let count = c.int(2, 3);
        let text: String = (0..count)
            .map(|_| char::from(c.pick(LETTERS, b'A')))
            .collect();
        let badge = c.int(0, 2);
        let stroke = s * c.uni(0.03, 0.06);
        let margin = s * 0.06 + stroke / 2.0;
        let inner_half = match badge {
            0 => {
                let r = s / 2.0 - margin;
                let el = format!(
                    r#"<circle cx="{}" cy="{}" r="{}" fill="none" stroke="{b}" stroke-width="{}"/>"#,
                    n(cx),
                    n(cy),
                    n(r),
                    n(stroke)
                );
                c.push(&el);
                (r - stroke) * 0.72
            }
            1 => {
                let half = s / 2.0 - margin;
                let el = format!(
                    r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="none" stroke="{b}" stroke-width="{}"/>"#,
                    n(cx - half),
                    n(cy - half),
                    n(2.0 * half),
                    n(2.0 * half),
                    n(half * c.uni(0.0, 0.3)),
                    n(stroke)
                );
                c.push(&el);
                (half - stroke) * 0.9
            }
            _ => s / 2.0 * 0.85, // no badge
        };
        let fs = (inner_half * 2.0 / text_ems(&text, mono)).min(inner_half * 1.3);
        let el = format!(
            r#"<text x="{}" y="{}" font-family="{family}" font-weight="bold" font-size="{}" text-anchor="middle" fill="{a}">{}</text>"#,
            n(cx),
            n(cy + 0.36 * fs),
            n(fs),
            escape(&text)
        );
        c.push(&el);
        return;
    }

    // Wordmark: 2-12 letters on one line, or two stacked words on a tall canvas; maybe split in
    // two colours, maybe underlined.
    let tall = h > w * 1.2;
    let mut lines: Vec<String> = if tall {
        let a = c.int(2, 6);
        let b = c.int(2, 6);
        vec![pseudo_word(c, a), pseudo_word(c, b)]
    } else {
        let len = c.int(3, 12);
        vec![pseudo_word(c, len)]
    };
    let case = c.int(0, 3);
    for word in &mut lines {
        match case {
            0 => *word = word.to_uppercase(),
            1 => {}
            _ => {
                let mut cs = word.chars();
                *word = cs
                    .next()
                    .map(|f| f.to_ascii_uppercase().to_string() + cs.as_str())
                    .unwrap_or_default();
            }
        }
    }
    let underline = c.chance(0.35);
    let ems = lines
        .iter()
        .map(|l| text_ems(l, mono))
        .fold(0.0, f64::max)
        .max(0.5);
    let pitch = 1.1; // line distance, ems
    let bar_gap = 0.3; // baseline to bar top, ems
    let nl = lines.len() as f64;
    // Block height in ems: cap height above the first baseline, descender below the last, a bar.
    let block = 0.76 + (nl - 1.0) * pitch + if underline { bar_gap + 0.13 } else { 0.24 };
    let fs = (w * 0.86 / ems).min(h * 0.8 / block).max(1.0);
    let first_base = cy - block * fs / 2.0 + 0.76 * fs;
    let two_tone = two_colours && c.chance(0.6);
    for (i, word) in lines.iter().enumerate() {
        let content = if tall {
            let fill = if two_tone && i == 1 { &b } else { &a };
            format!(r#"<tspan fill="{fill}">{}</tspan>"#, escape(word))
        } else if two_tone && word.len() >= 4 {
            let cut = c.int(2, word.len() - 2).min(word.len());
            let (p, q) = word.split_at(cut);
            format!(r#"{}<tspan fill="{b}">{}</tspan>"#, escape(p), escape(q))
        } else {
            escape(word)
        };
        let el = format!(
            r#"<text x="{}" y="{}" font-family="{family}" font-weight="bold" font-size="{}" text-anchor="middle" fill="{a}">{content}</text>"#,
            n(cx),
            n(first_base + i as f64 * pitch * fs),
            n(fs)
        );
        c.push(&el);
    }
    if underline {
        let text_w = ems * fs;
        let bar_w = text_w * c.uni(0.5, 0.85);
        let bar_h = fs * c.uni(0.06, 0.12);
        let bar_y = first_base + (nl - 1.0) * pitch * fs + bar_gap * fs;
        let el = format!(
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{b}"/>"#,
            n(cx - bar_w / 2.0),
            n(bar_y),
            n(bar_w),
            n(bar_h),
            n(bar_h * c.uni(0.0, 0.5))
        );
        c.push(&el);
    }
}

// ---------------------------------------------------------------------------------------------
// gradient

/// Defines a linear or radial gradient of 2-4 smooth stops around `hue`; returns `url(#id)`.
fn gradient_def(c: &mut Canvas, hue: f64) -> String {
    let id = c.id("g");
    let stops = c.int(2, 4);
    let sat = c.uni(0.55, 0.95);
    let hue_span = c.uni(-70.0, 70.0);
    let (l0, l1) = if c.chance(0.5) {
        (c.uni(0.2, 0.35), c.uni(0.7, 0.85))
    } else {
        (c.uni(0.65, 0.85), c.uni(0.2, 0.35))
    };
    let mut body = String::new();
    for k in 0..stops {
        let t = k as f64 / (stops - 1).max(1) as f64;
        let col = Rgb::hsl(hue + hue_span * t, sat, l0 + (l1 - l0) * t);
        let _ = write!(
            body,
            r#"<stop offset="{}" stop-color="{}"/>"#,
            n(t),
            col.hex()
        );
    }
    if c.chance(0.6) {
        let a = c.uni(0.0, std::f64::consts::TAU);
        let (dx, dy) = (det::cos(a) / 2.0, det::sin(a) / 2.0);
        let _ = write!(
            c.defs,
            r#"<linearGradient id="{id}" x1="{}" y1="{}" x2="{}" y2="{}">{body}</linearGradient>"#,
            n(0.5 - dx),
            n(0.5 - dy),
            n(0.5 + dx),
            n(0.5 + dy)
        );
    } else {
        let (fx, fy, fr) = (c.uni(0.25, 0.6), c.uni(0.2, 0.6), c.uni(0.6, 0.9));
        let _ = write!(
            c.defs,
            r#"<radialGradient id="{id}" cx="{}" cy="{}" r="{}">{body}</radialGradient>"#,
            n(fx),
            n(fy),
            n(fr)
        );
    }
    format!("url(#{id})")
}

fn gradient(c: &mut Canvas) {
    let hue = c.uni(0.0, 360.0);
    let (w, h, s) = (c.w, c.h, c.short());
    let (cx, cy) = (c.cx(), c.cy());
    let full_bg = !c.transparent && c.chance(0.5);
    if full_bg {
        let g = gradient_def(c, hue);
        c.background(&g);
    } else {
        if !c.transparent && c.chance(0.5) {
            c.background("#ffffff");
        }
        // A big gradient shape covering most of the canvas.
        let g = gradient_def(c, hue);
        let el = match c.int(0, 2) {
            0 => {
                let r = s * 0.47;
                format!(
                    r#"<ellipse cx="{}" cy="{}" rx="{}" ry="{}" fill="{g}"/>"#,
                    n(cx),
                    n(cy),
                    n((w * 0.47).min(r * 1.5)),
                    n((h * 0.47).min(r * 1.5))
                )
            }
            1 => {
                let m = s * 0.04;
                format!(
                    r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{g}"/>"#,
                    n(m),
                    n(m),
                    n(w - 2.0 * m),
                    n(h - 2.0 * m),
                    n(s * c.uni(0.05, 0.25))
                )
            }
            _ => {
                // A soft squircle-ish blob.
                let rx = w * 0.46;
                let ry = h * 0.46;
                let k = 0.75;
                format!(
                    r#"<path d="M{},{} C{},{} {},{} {},{} C{},{} {},{} {},{} C{},{} {},{} {},{} C{},{} {},{} {},{} Z" fill="{g}"/>"#,
                    n(cx),
                    n(cy - ry),
                    n(cx + k * rx),
                    n(cy - ry),
                    n(cx + rx),
                    n(cy - k * ry),
                    n(cx + rx),
                    n(cy),
                    n(cx + rx),
                    n(cy + k * ry),
                    n(cx + k * rx),
                    n(cy + ry),
                    n(cx),
                    n(cy + ry),
                    n(cx - k * rx),
                    n(cy + ry),
                    n(cx - rx),
                    n(cy + k * ry),
                    n(cx - rx),
                    n(cy),
                    n(cx - rx),
                    n(cy - k * ry),
                    n(cx - k * rx),
                    n(cy - ry),
                    n(cx),
                    n(cy - ry)
                )
            }
        };
        c.push(&el);
    }
    // A second, smaller gradient shape.
    if c.chance(0.35) {
        let hue2 = hue + c.uni(90.0, 270.0);
        let g = gradient_def(c, hue2);
        let r = s * c.uni(0.18, 0.3);
        let el = format!(
            r#"<circle cx="{}" cy="{}" r="{}" fill="{g}"/>"#,
            n(cx + c.uni(-0.1, 0.1) * w),
            n(cy + c.uni(-0.1, 0.1) * h),
            n(r)
        );
        c.push(&el);
    }
    // A flat mark on top, kept small so shading dominates.
    if c.chance(0.6) {
        let shape = random_shape(c);
        let fill = if c.chance(0.7) {
            "#ffffff".to_string()
        } else {
            Rgb::hsl(hue + 180.0, 0.2, 0.12).hex()
        };
        let r = s * c.uni(0.12, 0.22);
        let el = shape_svg(shape, cx, cy, r, 0.0, &fill);
        c.push(&el);
    }
}

// ---------------------------------------------------------------------------------------------
// complex

/// A closed, smooth Bézier blob through `k` jittered points around `(cx, cy)`.
fn blob(c: &mut Canvas, cx: f64, cy: f64, r: f64, k: usize) -> String {
    let k = k.max(3);
    let mut pts = Vec::with_capacity(k);
    let phase = c.uni(0.0, std::f64::consts::TAU);
    for i in 0..k {
        let a = phase + std::f64::consts::TAU * i as f64 / k as f64;
        let rr = r * c.uni(0.6, 1.0);
        pts.push((cx + rr * det::cos(a), cy + rr * det::sin(a)));
    }
    catmull_rom_closed(&pts)
}

/// A closed Catmull-Rom spline through `pts`, as cubic Béziers.
fn catmull_rom_closed(pts: &[(f64, f64)]) -> String {
    let k = pts.len();
    let mut d = String::new();
    let Some(&(x0, y0)) = pts.first() else {
        return d;
    };
    let _ = write!(d, "M{},{}", n(x0), n(y0));
    for i in 0..k {
        let p0 = pts[(i + k - 1) % k];
        let p1 = pts[i];
        let p2 = pts[(i + 1) % k];
        let p3 = pts[(i + 2) % k];
        let c1 = (p1.0 + (p2.0 - p0.0) / 6.0, p1.1 + (p2.1 - p0.1) / 6.0);
        let c2 = (p2.0 - (p3.0 - p1.0) / 6.0, p2.1 - (p3.1 - p1.1) / 6.0);
        let _ = write!(
            d,
            " C{},{} {},{} {},{}",
            n(c1.0),
            n(c1.1),
            n(c2.0),
            n(c2.1),
            n(p2.0),
            n(p2.1)
        );
    }
    d.push_str(" Z");
    d
}

/// A petal (leaf) from `(cx, cy)` outwards at angle `a`, length `len`, half-width `wid`.
fn petal(cx: f64, cy: f64, a: f64, len: f64, wid: f64, start: f64) -> String {
    let (ux, uy) = (det::cos(a), det::sin(a));
    let (px, py) = (-uy, ux);
    let (bx, by) = (cx + ux * start, cy + uy * start);
    let (tx, ty) = (cx + ux * (start + len), cy + uy * (start + len));
    let (m1x, m1y) = (bx + ux * len * 0.35, by + uy * len * 0.35);
    let (m2x, m2y) = (bx + ux * len * 0.75, by + uy * len * 0.75);
    format!(
        "M{},{} C{},{} {},{} {},{} C{},{} {},{} {},{} Z",
        n(bx),
        n(by),
        n(m1x + px * wid),
        n(m1y + py * wid),
        n(m2x + px * wid),
        n(m2y + py * wid),
        n(tx),
        n(ty),
        n(m2x - px * wid),
        n(m2y - py * wid),
        n(m1x - px * wid),
        n(m1y - py * wid),
        n(bx),
        n(by)
    )
}

fn complex(c: &mut Canvas) {
    let ncol = c.int(5, 8);
    let pal = palette(c, ncol);
    let bg = opaque_background(c, 0.3, &pal);
    let cols: Vec<String> = pal.iter().map(|&p| contrasting(p, bg).hex()).collect();
    let col = |i: usize| cols[i % cols.len()].clone();
    let (w, h, s) = (c.w, c.h, c.short());
    let (cx, cy) = (c.cx(), c.cy());
    let target = c.int(10, 40);
    let mut count = 0usize;
    let r0 = s * 0.46;

    // Container: a disc or rounded plate, maybe with a gradient, and an outer ring.
    let container = if c.chance(0.25) {
        let hue = c.uni(0.0, 360.0);
        gradient_def(c, hue)
    } else {
        col(0)
    };
    if c.chance(0.5) {
        let el = format!(
            r#"<circle cx="{}" cy="{}" r="{}" fill="{container}"/>"#,
            n(cx),
            n(cy),
            n(r0)
        );
        c.push(&el);
    } else {
        let (hw, hh) = (w / 2.0 - s * 0.04, h / 2.0 - s * 0.04);
        let el = format!(
            r#"<rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{container}"/>"#,
            n(cx - hw),
            n(cy - hh),
            n(2.0 * hw),
            n(2.0 * hh),
            n(s * c.uni(0.05, 0.2))
        );
        c.push(&el);
    }
    count += 1;
    if c.chance(0.6) {
        let el = format!(
            r#"<circle cx="{}" cy="{}" r="{}" fill="none" stroke="{}" stroke-width="{}"/>"#,
            n(cx),
            n(cy),
            n(r0 * c.uni(0.8, 0.92)),
            col(1),
            n(s * c.uni(0.01, 0.04))
        );
        c.push(&el);
        count += 1;
    }

    // Central motif: petals in alternating colours, or overlapping blobs.
    if c.chance(0.55) {
        let k = c.int(5, 12);
        let len = r0 * c.uni(0.45, 0.7);
        let wid = len * c.uni(0.15, 0.35);
        let start = r0 * c.uni(0.0, 0.15);
        let phase = c.uni(0.0, 1.0);
        for i in 0..k {
            let a = (phase + i as f64) * std::f64::consts::TAU / k as f64;
            let d = petal(cx, cy, a, len, wid, start);
            let el = format!(r#"<path d="{d}" fill="{}"/>"#, col(2 + i % 3));
            c.push(&el);
            count += 1;
        }
    } else {
        let k = c.int(3, 6);
        for i in 0..k {
            let (x, y) = (cx + c.uni(-0.2, 0.2) * s, cy + c.uni(-0.2, 0.2) * s);
            let pts = c.int(5, 8);
            let r = s * c.uni(0.12, 0.28);
            let d = blob(c, x, y, r, pts);
            let el = format!(r#"<path d="{d}" fill="{}"/>"#, col(2 + i));
            c.push(&el);
            count += 1;
        }
    }
    // Centre hub.
    let el = format!(
        r#"<circle cx="{}" cy="{}" r="{}" fill="{}" stroke="{}" stroke-width="{}"/>"#,
        n(cx),
        n(cy),
        n(s * c.uni(0.05, 0.1)),
        col(1),
        col(4),
        n(s * 0.012)
    );
    c.push(&el);
    count += 1;

    // Strokes: curved lines of varying width.
    let strokes = c.int(2, 7);
    for i in 0..strokes {
        let p = |c: &mut Canvas| (cx + c.uni(-0.4, 0.4) * s, cy + c.uni(-0.4, 0.4) * s);
        let (a, b, d, e) = (p(c), p(c), p(c), p(c));
        let el = format!(
            r#"<path d="M{},{} C{},{} {},{} {},{}" fill="none" stroke="{}" stroke-width="{}" stroke-linecap="round"/>"#,
            n(a.0),
            n(a.1),
            n(b.0),
            n(b.1),
            n(d.0),
            n(d.1),
            n(e.0),
            n(e.1),
            col(3 + i),
            n(s * c.uni(0.005, 0.045))
        );
        c.push(&el);
        count += 1;
    }
    // Polygons.
    let polys = c.int(1, 5);
    for i in 0..polys {
        let (x, y) = (cx + c.uni(-0.35, 0.35) * w, cy + c.uni(-0.35, 0.35) * h);
        let k = c.int(3, 6) as u32;
        let rot = c.uni(0.0, 6.0);
        let d = star_points(x, y, s * c.uni(0.04, 0.12), k, 1.0, rot);
        let el = format!(r#"<path d="{d}" fill="{}"/>"#, col(i + 1));
        c.push(&el);
        count += 1;
    }
    // Small text label on a ribbon.
    if c.chance(0.4) && s >= 96.0 {
        let len = c.int(3, 8);
        let word = pseudo_word(c, len).to_uppercase();
        let family = c.pick(&FONT_FAMILIES, "DejaVu Sans");
        let ems = text_ems(&word, family.contains("Mono"));
        let fs = (s * 0.1).min(w * 0.6 / ems);
        let (half, y) = (ems * fs / 2.0 + fs * 0.5, cy + r0 * 0.62);
        let (top, bot, notch) = (y - fs * 0.85, y + fs * 0.35, fs * 0.4);
        let ribbon = pal.get(1).copied().unwrap_or(Rgb(0.2, 0.2, 0.3));
        let ink = if ribbon.luma() > 0.55 {
            "#1a1a1a"
        } else {
            "#ffffff"
        };
        let el = format!(
            r#"<path d="M{},{} L{},{} L{},{} L{},{} L{},{} L{},{} Z" fill="{}"/>"#,
            n(cx - half - notch),
            n(top),
            n(cx + half + notch),
            n(top),
            n(cx + half),
            n((top + bot) / 2.0),
            n(cx + half + notch),
            n(bot),
            n(cx - half - notch),
            n(bot),
            n(cx - half),
            n((top + bot) / 2.0),
            ribbon.hex()
        );
        c.push(&el);
        let el = format!(
            r#"<text x="{}" y="{}" font-family="{family}" font-weight="bold" font-size="{}" text-anchor="middle" fill="{ink}">{}</text>"#,
            n(cx),
            n(y),
            n(fs),
            escape(&word)
        );
        c.push(&el);
        count += 2;
    }
    // Details: dots and tiny stars until the target count.
    let mut i = 0usize;
    while count < target {
        let (x, y) = (cx + c.uni(-0.42, 0.42) * w, cy + c.uni(-0.42, 0.42) * h);
        let r = s * c.uni(0.008, 0.03);
        let shape = if c.chance(0.7) {
            Shape::Circle
        } else {
            Shape::Star(5, 0.45)
        };
        let el = shape_svg(shape, x, y, r, 0.0, &col(i + 2));
        c.push(&el);
        count += 1;
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Background, Renderer};
    use vectune_core::features::{Features, compute};
    use vectune_core::image::ImageRef;

    const SEEDS: u64 = 20;

    fn render_at(r: &Renderer, logo: &SynthLogo, long: u32) -> crate::render::Rgba {
        let scale = f64::from(long) / f64::from(logo.width.max(logo.height));
        let w = ((f64::from(logo.width) * scale).round() as u32).max(1);
        let h = ((f64::from(logo.height) * scale).round() as u32).max(1);
        let bg = if logo.transparent {
            Background::Transparent
        } else {
            Background::White
        };
        r.render(&logo.svg, w, h, bg, "synth").expect("renders")
    }

    fn features(img: &crate::render::Rgba) -> Features {
        compute(&ImageRef::new(&img.pixels, img.width, img.height).expect("valid image"))
    }

    fn median(mut v: Vec<f32>) -> f32 {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    }

    #[test]
    fn names_match_manifest() {
        for (i, c) in LogoClass::ALL.into_iter().enumerate() {
            assert_eq!(c.index(), i);
            assert_eq!(c.name(), vectune_core::manifest::LOGO_CLASSES[i]);
            assert_eq!(LogoClass::from_name(c.name()), Some(c));
        }
        assert_eq!(LogoClass::from_name("photo"), None);
    }

    #[test]
    fn deterministic() {
        for class in LogoClass::ALL {
            let a = generate(class, 7);
            assert_eq!(a, generate(class, 7));
            assert_ne!(a.svg, generate(class, 8).svg);
        }
        assert_ne!(
            generate(LogoClass::SimpleGeometric, 3).svg,
            generate(LogoClass::Complex, 3).svg
        );
    }

    #[test]
    fn deterministic_maths() {
        for k in 0..64 {
            let x = k as f64 * 0.37 - 11.0;
            assert!((det::sin(x) - x.sin()).abs() < 1e-12, "{x}");
            assert!((det::cos(x) - x.cos()).abs() < 1e-12, "{x}");
            let e = k as f64 / 16.0;
            assert!((det::exp2(e) / e.exp2() - 1.0).abs() < 1e-12, "{e}");
        }
    }

    #[test]
    fn sizes_and_renders() {
        let r = Renderer::new();
        let mut transparent = 0;
        for class in LogoClass::ALL {
            for seed in 0..SEEDS {
                let logo = generate(class, seed);
                assert_eq!(logo.class, class);
                let (long, short) = (logo.width.max(logo.height), logo.width.min(logo.height));
                assert!((MIN_LONG_SIDE..=MAX_LONG_SIDE).contains(&long), "{long}");
                assert!(f64::from(long) / f64::from(short) <= MAX_ASPECT + 0.05);
                assert!(
                    logo.svg
                        .contains(&format!(r#"viewBox="0 0 {} {}""#, logo.width, logo.height))
                );
                transparent += usize::from(logo.transparent);
                // Rendering at its own size works (kept for the small ones; bigger are scaled down).
                let img = render_at(&r, &logo, long.min(160));
                let f = features(&img);
                assert!(f.unique_colors >= 2, "{} {seed} drew nothing", class.name());
            }
        }
        let share = transparent as f64 / (4 * SEEDS) as f64;
        assert!((0.2..0.6).contains(&share), "{share}");
        // One logo at its exact own size.
        let logo = generate(LogoClass::Complex, 1);
        let img = r
            .render(&logo.svg, logo.width, logo.height, Background::White, "own")
            .expect("renders");
        assert_eq!((img.width, img.height), (logo.width, logo.height));
    }

    #[test]
    fn class_statistics_differ() {
        let r = Renderer::new();
        let stats = |class: LogoClass| -> Vec<Features> {
            (0..SEEDS)
                .map(|seed| features(&render_at(&r, &generate(class, seed), 200)))
                .collect()
        };
        let simple = stats(LogoClass::SimpleGeometric);
        let text = stats(LogoClass::TextBased);
        let grad = stats(LogoClass::Gradient);
        let complex = stats(LogoClass::Complex);
        let med = |v: &[Features], f: fn(&Features) -> f32| median(v.iter().map(f).collect());
        let gs = |f: &Features| f.gradient_strength;
        let uc = |f: &Features| f.unique_colors as f32;
        let cx = |f: &Features| f.complexity;
        let ed = |f: &Features| f.edge_density;
        eprintln!(
            "gradient_strength simple {} grad {}; unique simple {} complex {}; complexity simple {} complex {}; edges simple {} text {}",
            med(&simple, gs),
            med(&grad, gs),
            med(&simple, uc),
            med(&complex, uc),
            med(&simple, cx),
            med(&complex, cx),
            med(&simple, ed),
            med(&text, ed)
        );
        assert!(med(&grad, gs) > 2.0 * med(&simple, gs) && med(&grad, gs) > 0.2);
        assert!(med(&complex, uc) > med(&simple, uc));
        assert!(med(&complex, cx) > med(&simple, cx));
        assert!(med(&text, ed) > med(&simple, ed));
    }

    #[test]
    fn text_and_shapes_stay_inside_the_canvas() {
        let r = Renderer::new();
        for (class, seed) in [LogoClass::TextBased, LogoClass::SimpleGeometric]
            .into_iter()
            .flat_map(|c| (0..SEEDS).map(move |s| (c, s)))
        {
            let logo = generate(class, seed);
            // The logo's own size (capped so the test stays fast).
            let img = render_at(&r, &logo, logo.width.max(logo.height).min(320));
            let (w, h) = (img.width as usize, img.height as usize);
            let px = |x: usize, y: usize| &img.pixels[4 * (y * w + x)..4 * (y * w + x) + 4];
            let corner = px(0, 0).to_vec();
            let mut border = (0..w)
                .flat_map(|x| [(x, 0), (x, h - 1)])
                .collect::<Vec<_>>();
            border.extend((0..h).flat_map(|y| [(0, y), (w - 1, y)]));
            for (x, y) in border {
                let p = px(x, y);
                let diff: i32 = p
                    .iter()
                    .zip(&corner)
                    .map(|(a, b)| (i32::from(*a) - i32::from(*b)).abs())
                    .sum();
                assert!(
                    diff <= 12,
                    "{} seed {seed}: drawing touches the edge at ({x},{y}) of {w}x{h}: {p:?} vs {corner:?}\n{}",
                    class.name(),
                    logo.svg
                );
            }
        }
    }

    /// Writes `sheet.png`: 6 logos per class, one class per row, each on a light grey cell (so
    /// transparency shows). Run with `cargo test -- --ignored contact_sheet`.
    #[test]
    #[ignore]
    fn contact_sheet() {
        let r = Renderer::new();
        let cell = 200u32;
        let per = 6u32;
        let mut sheet =
            image::RgbaImage::from_pixel(cell * per, cell * 4, image::Rgba([200, 200, 200, 255]));
        let offset: u64 = std::env::var("SHEET_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        for (row, class) in LogoClass::ALL.into_iter().enumerate() {
            for i in 0..per {
                let logo = generate(class, offset + u64::from(i));
                let img = render_at(&r, &logo, cell - 8);
                let (ox, oy) = (
                    i * cell + (cell - img.width) / 2,
                    row as u32 * cell + (cell - img.height) / 2,
                );
                for y in 0..img.height {
                    for x in 0..img.width {
                        let k = 4 * (y * img.width + x) as usize;
                        let p = &img.pixels[k..k + 4];
                        let a = f32::from(p[3]) / 255.0;
                        let under = if logo.transparent { 200.0 } else { 255.0 };
                        let mix = |v: u8| (f32::from(v) * a + under * (1.0 - a)).round() as u8;
                        sheet.put_pixel(
                            ox + x,
                            oy + y,
                            image::Rgba([mix(p[0]), mix(p[1]), mix(p[2]), 255]),
                        );
                    }
                }
            }
        }
        sheet
            .save(concat!(env!("CARGO_MANIFEST_DIR"), "/sheet.png"))
            .expect("writes sheet.png");
    }
}
