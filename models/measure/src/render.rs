//! SVG -> RGBA8 with resvg, onto white (or transparent), at a chosen size. With the feature `text`
//! (the dataset builder's), text is rendered with the DejaVu fonts shipped in `models/measure/fonts/`
//! (free licence, `LICENSE-DejaVu.txt`); system fonts are never consulted, so renderings are the
//! same on every machine. Without it, `<text>` is skipped: VTracer's SVGs have none.

#[cfg(feature = "text")]
use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use crate::MeasureError;

/// The fonts text is rendered with; the family names to use in generated SVG.
#[cfg(feature = "text")]
pub const FONT_FAMILIES: [&str; 3] = ["DejaVu Sans", "DejaVu Serif", "DejaVu Sans Mono"];
#[cfg(feature = "text")]
const FONTS: [&[u8]; 3] = [
    include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
    include_bytes!("../fonts/DejaVuSerif-Bold.ttf"),
    include_bytes!("../fonts/DejaVuSansMono-Bold.ttf"),
];

/// What lies behind the drawing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Background {
    /// Opaque white.
    White,
    /// Fully transparent (alpha 0), for logos delivered with transparency.
    Transparent,
}

/// An owned RGBA8 image (straight alpha).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rgba {
    /// Pixels, rows top to bottom.
    pub pixels: Vec<u8>,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// A reusable renderer (cheap to make and to share across threads).
#[derive(Clone)]
pub struct Renderer {
    #[cfg(feature = "text")]
    fontdb: Arc<usvg::fontdb::Database>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

impl Renderer {
    /// A renderer; with the feature `text`, over the shipped fonts, parsed once per process.
    pub fn new() -> Renderer {
        #[cfg(feature = "text")]
        {
            static FONTS_DB: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
            let fontdb = FONTS_DB
                .get_or_init(|| {
                    let mut db = usvg::fontdb::Database::new();
                    for f in FONTS {
                        db.load_font_data(f.to_vec());
                    }
                    db.set_sans_serif_family(FONT_FAMILIES[0]);
                    db.set_serif_family(FONT_FAMILIES[1]);
                    db.set_monospace_family(FONT_FAMILIES[2]);
                    Arc::new(db)
                })
                .clone();
            Renderer { fontdb }
        }
        #[cfg(not(feature = "text"))]
        Renderer {}
    }

    /// usvg's options: the shipped fonts when text is rendered, usvg's defaults otherwise.
    fn options(&self) -> usvg::Options<'static> {
        #[cfg(feature = "text")]
        return usvg::Options {
            fontdb: self.fontdb.clone(),
            font_family: FONT_FAMILIES[0].to_string(),
            ..usvg::Options::default()
        };
        #[cfg(not(feature = "text"))]
        usvg::Options::default()
    }

    /// Parses an SVG document.
    pub fn parse(&self, svg: &str, item: &str) -> Result<usvg::Tree, MeasureError> {
        usvg::Tree::from_str(svg, &self.options()).map_err(|e| MeasureError::Render {
            item: item.to_string(),
            reason: e.to_string(),
        })
    }

    /// Renders `svg` scaled to exactly `width x height`.
    pub fn render(
        &self,
        svg: &str,
        width: u32,
        height: u32,
        background: Background,
        item: &str,
    ) -> Result<Rgba, MeasureError> {
        let tree = self.parse(svg, item)?;
        self.render_tree(&tree, width, height, background, item)
    }

    /// Renders `svg` so that its long side is `long_side` pixels, keeping its aspect ratio.
    pub fn render_fit(
        &self,
        svg: &str,
        long_side: u32,
        background: Background,
        item: &str,
    ) -> Result<Rgba, MeasureError> {
        let tree = self.parse(svg, item)?;
        let size = tree.size();
        let (w, h) = (size.width(), size.height());
        let s = long_side as f32 / w.max(h);
        let width = ((w * s).round() as u32).max(1);
        let height = ((h * s).round() as u32).max(1);
        self.render_tree(&tree, width, height, background, item)
    }

    fn render_tree(
        &self,
        tree: &usvg::Tree,
        width: u32,
        height: u32,
        background: Background,
        item: &str,
    ) -> Result<Rgba, MeasureError> {
        let err = |reason: String| MeasureError::Render {
            item: item.to_string(),
            reason,
        };
        let mut pixmap = tiny_skia::Pixmap::new(width, height)
            .ok_or_else(|| err(format!("cannot allocate a {width}x{height} canvas")))?;
        if background == Background::White {
            pixmap.fill(tiny_skia::Color::WHITE);
        }
        let size = tree.size();
        let transform = tiny_skia::Transform::from_scale(
            width as f32 / size.width(),
            height as f32 / size.height(),
        );
        resvg::render(tree, transform, &mut pixmap.as_mut());
        let mut pixels = Vec::with_capacity(pixmap.data().len());
        for p in pixmap.pixels() {
            let c = p.demultiply();
            pixels.extend_from_slice(&[c.red(), c.green(), c.blue(), c.alpha()]);
        }
        Ok(Rgba {
            pixels,
            width,
            height,
        })
    }
}

/// Composites RGBA8 onto white and rounds back to RGBA8 with alpha 255: the image VTracer is
/// given and SSIM compares against.
pub fn flatten_on_white(pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len());
    for px in pixels.chunks_exact(4) {
        let [r, g, b] =
            vectune_core::image::over_white(px).map(|c| c.round().clamp(0.0, 255.0) as u8);
        out.extend_from_slice(&[r, g, b, 255]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "text")]
    fn renders_shapes_and_text_at_size() {
        let r = Renderer::new();
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 50">
            <rect x="0" y="0" width="50" height="50" fill="#ff0000"/>
            <text x="55" y="40" font-family="DejaVu Sans" font-size="40" fill="#000">A</text></svg>"##;
        let img = r.render(svg, 200, 100, Background::White, "t").unwrap();
        assert_eq!((img.width, img.height), (200, 100));
        assert_eq!(&img.pixels[..4], &[255, 0, 0, 255]);
        // The glyph drew dark pixels on the right half.
        let dark = img
            .pixels
            .chunks_exact(4)
            .enumerate()
            .filter(|(i, p)| i % 200 >= 110 && p[0] < 64)
            .count();
        assert!(dark > 200, "text rendered: {dark} dark pixels");
        let t = r.render_fit(svg, 64, Background::Transparent, "t").unwrap();
        assert_eq!((t.width, t.height), (64, 32));
        assert_eq!(t.pixels[4 * 63 + 3], 0, "transparent background");
    }

    #[test]
    fn bad_svg_is_a_typed_error() {
        let e = Renderer::new()
            .render("<svg", 10, 10, Background::White, "broken.svg")
            .unwrap_err();
        assert!(e.to_string().contains("broken.svg"));
    }

    #[test]
    fn flatten() {
        assert_eq!(
            flatten_on_white(&[0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 128]),
            [255, 255, 255, 255, 0, 0, 0, 255, 127, 127, 127, 255]
        );
    }
}
