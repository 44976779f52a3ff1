//! Real logos that nobody on the team drew, fetched from the npm registry at dataset-build time
//! (`npm pack` + `tar`, versions pinned below) and never committed in bulk:
//!
//! | source | package | licence | what |
//! |---|---|---|---|
//! | `iconify_logos` | `@iconify-json/logos` | CC0-1.0 | ~2,300 multi-colour logos in one JSON |
//! | `simple_icons` | `simple-icons` | CC0-1.0 | ~3,500 monochrome icons, filled with their brand colour |
//! | `devicon` | `devicon` | MIT | ~1,900 SVGs, many multi-colour, wordmark variants |
//!
//! Outside sources (`RealSource::OUTSIDE`): never in the training data, used only to measure how the
//! models do on logos drawn by other people in other styles (`vectune-dataset build --sources ...`):
//!
//! | source | package | licence | what |
//! |---|---|---|---|
//! | `skill_icons` | `@iconify-json/skill-icons` | MIT | 400 tech logos on rounded dark/light tiles |
//! | `token_branded` | `@iconify-json/token-branded` | MIT | ~4,200 crypto token and company logos (plain and on a disc) |
//! | `cryptocurrency_color` | `@iconify-json/cryptocurrency-color` | CC0-1.0 | ~480 coin logos on coloured discs |
//!
//! All are trademarks of their owners: data for training and tests only, kept with their licences.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TruthError;
use crate::synth::LogoClass;

/// An npm package pinned to one version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NpmPackage {
    /// Package name.
    pub name: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// SPDX licence.
    pub license: &'static str,
    /// The licence file inside the package (relative to `package/`), or `None` if it has none.
    pub license_file: Option<&'static str>,
}

/// `@iconify-json/logos`.
pub const ICONIFY_LOGOS: NpmPackage = NpmPackage {
    name: "@iconify-json/logos",
    version: "1.2.19",
    license: "CC0-1.0",
    license_file: None,
};
/// `simple-icons`.
pub const SIMPLE_ICONS: NpmPackage = NpmPackage {
    name: "simple-icons",
    version: "16.37.0",
    license: "CC0-1.0",
    license_file: Some("LICENSE.md"),
};
/// `devicon`.
pub const DEVICON: NpmPackage = NpmPackage {
    name: "devicon",
    version: "2.17.0",
    license: "MIT",
    license_file: Some("LICENSE"),
};

/// `@iconify-json/skill-icons` (outside source).
pub const SKILL_ICONS: NpmPackage = NpmPackage {
    name: "@iconify-json/skill-icons",
    version: "1.2.4",
    license: "MIT",
    license_file: None,
};
/// `@iconify-json/token-branded` (outside source).
pub const TOKEN_BRANDED: NpmPackage = NpmPackage {
    name: "@iconify-json/token-branded",
    version: "1.2.45",
    license: "MIT",
    license_file: None,
};
/// `@iconify-json/cryptocurrency-color` (outside source).
pub const CRYPTOCURRENCY_COLOR: NpmPackage = NpmPackage {
    name: "@iconify-json/cryptocurrency-color",
    version: "1.2.4",
    license: "CC0-1.0",
    license_file: None,
};

/// Where a real logo came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RealSource {
    /// `@iconify-json/logos`.
    IconifyLogos,
    /// `simple-icons`.
    SimpleIcons,
    /// `devicon`.
    Devicon,
    /// `@iconify-json/skill-icons` (outside source).
    SkillIcons,
    /// `@iconify-json/token-branded` (outside source).
    TokenBranded,
    /// `@iconify-json/cryptocurrency-color` (outside source).
    CryptocurrencyColor,
}

impl RealSource {
    /// The three training sources, in a fixed order (the default of `vectune-dataset build`).
    pub const ALL: [RealSource; 3] = [
        RealSource::IconifyLogos,
        RealSource::SimpleIcons,
        RealSource::Devicon,
    ];

    /// The outside sources: no model is trained on them; they measure generalisation to other
    /// designers' logos.
    pub const OUTSIDE: [RealSource; 3] = [
        RealSource::SkillIcons,
        RealSource::TokenBranded,
        RealSource::CryptocurrencyColor,
    ];

    /// Every source: the training ones, then the outside ones.
    pub fn known() -> impl Iterator<Item = RealSource> {
        Self::ALL.into_iter().chain(Self::OUTSIDE)
    }

    /// The source called `name` (as in label tables), if any.
    pub fn from_name(name: &str) -> Option<RealSource> {
        Self::known().find(|s| s.name() == name)
    }

    /// Name in label tables.
    pub fn name(self) -> &'static str {
        match self {
            RealSource::IconifyLogos => "iconify_logos",
            RealSource::SimpleIcons => "simple_icons",
            RealSource::Devicon => "devicon",
            RealSource::SkillIcons => "skill_icons",
            RealSource::TokenBranded => "token_branded",
            RealSource::CryptocurrencyColor => "cryptocurrency_color",
        }
    }

    /// The npm package.
    pub fn package(self) -> NpmPackage {
        match self {
            RealSource::IconifyLogos => ICONIFY_LOGOS,
            RealSource::SimpleIcons => SIMPLE_ICONS,
            RealSource::Devicon => DEVICON,
            RealSource::SkillIcons => SKILL_ICONS,
            RealSource::TokenBranded => TOKEN_BRANDED,
            RealSource::CryptocurrencyColor => CRYPTOCURRENCY_COLOR,
        }
    }
}

/// One real logo as SVG text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RealLogo {
    /// Source package.
    pub source: RealSource,
    /// Unique within the source (icon name, slug, or file stem).
    pub name: String,
    /// Normalised brand key shared across sources (`react`, `googlecloud`); splits group by it.
    pub brand: String,
    /// The SVG document.
    pub svg: String,
    /// Whether the logo is a wordmark (text).
    pub wordmark: bool,
}

impl RealLogo {
    /// A class inferred from the SVG (real logos carry no class label): wordmarks are
    /// `text_based`; SVGs with gradients `gradient`; more than 4 distinct colours or more than 12
    /// drawing elements `complex`; the rest `simple_geometric`.
    pub fn inferred_class(&self) -> LogoClass {
        if self.wordmark {
            return LogoClass::TextBased;
        }
        if self.svg.contains("Gradient") {
            return LogoClass::Gradient;
        }
        let elements = [
            "<path",
            "<circle",
            "<rect",
            "<ellipse",
            "<polygon",
            "<polyline",
            "<line",
        ]
        .iter()
        .map(|t| self.svg.matches(t).count())
        .sum::<usize>();
        if distinct_colours(&self.svg) > 4 || elements > 12 {
            LogoClass::Complex
        } else {
            LogoClass::SimpleGeometric
        }
    }
}

fn distinct_colours(svg: &str) -> usize {
    let mut colours: Vec<String> = Vec::new();
    let bytes = svg.as_bytes();
    for (i, _) in svg.match_indices('#') {
        let hex: String = bytes[i + 1..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .map(|&b| (b as char).to_ascii_lowercase())
            .collect();
        if (hex.len() == 3 || hex.len() == 6) && !colours.contains(&hex) {
            colours.push(hex);
        }
    }
    colours.len()
}

/// Variant words dropped when normalising a name to its brand.
const VARIANT_WORDS: [&str; 13] = [
    "icon",
    "wordmark",
    "horizontal",
    "vertical",
    "tile",
    "dark",
    "light",
    "original",
    "plain",
    "line",
    "text",
    "logo",
    "alt",
];

/// Normalises an icon name to a brand key: lowercase, variant words removed, only `[a-z0-9]` kept
/// (`google-cloud-icon` -> `googlecloud`, matching simple-icons' slug `googlecloud`).
pub fn brand_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let kept: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !VARIANT_WORDS.contains(w))
        .collect();
    let key: String = kept.concat();
    if key.is_empty() {
        lower.chars().filter(char::is_ascii_alphanumeric).collect()
    } else {
        key
    }
}

/// Fetches `pkg` into `cache` (`npm pack`, then `tar -xzf`) unless already there; returns the
/// extracted `package/` directory.
pub fn fetch(pkg: NpmPackage, cache: &Path) -> Result<PathBuf, TruthError> {
    let slug = format!(
        "{}-{}",
        pkg.name.trim_start_matches('@').replace('/', "-"),
        pkg.version
    );
    let dir = cache.join(&slug);
    let done = dir.join(".complete");
    if done.exists() {
        return Ok(dir.join("package"));
    }
    let file_err = |path: &Path, reason: String| TruthError::File {
        path: path.to_path_buf(),
        reason,
    };
    std::fs::create_dir_all(&dir).map_err(|e| file_err(&dir, e.to_string()))?;
    let spec = format!("{}@{}", pkg.name, pkg.version);
    let out = Command::new("npm")
        .args(["pack", &spec, "--silent", "--pack-destination"])
        .arg(&dir)
        .output()
        .map_err(|e| file_err(&dir, format!("cannot run npm: {e}")))?;
    if !out.status.success() {
        return Err(file_err(
            &dir,
            format!(
                "npm pack {spec} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let tgz = dir.join(format!("{slug}.tgz"));
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tgz)
        .arg("-C")
        .arg(&dir)
        .status()
        .map_err(|e| file_err(&tgz, format!("cannot run tar: {e}")))?;
    if !status.success() {
        return Err(file_err(&tgz, "tar -xzf failed".to_string()));
    }
    std::fs::remove_file(&tgz).map_err(|e| file_err(&tgz, e.to_string()))?;
    std::fs::write(&done, spec).map_err(|e| file_err(&done, e.to_string()))?;
    Ok(dir.join("package"))
}

fn read(path: &Path) -> Result<String, TruthError> {
    std::fs::read_to_string(path).map_err(|e| TruthError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Loads every logo of `source` from its extracted package directory.
pub fn load(source: RealSource, package_dir: &Path) -> Result<Vec<RealLogo>, TruthError> {
    match source {
        RealSource::SimpleIcons => load_simple_icons(package_dir),
        RealSource::Devicon => load_devicon(package_dir),
        iconify => load_iconify(iconify, package_dir),
    }
}

/// The brand of an iconify icon name: `brand_key`, after dropping the outside sets' variant
/// suffixes (`-background` in token-branded, `-dark`/`-light` tiles are already variant words).
fn iconify_brand(source: RealSource, name: &str) -> String {
    match source {
        RealSource::TokenBranded => brand_key(name.trim_end_matches("-background")),
        _ => brand_key(name),
    }
}

/// One icon set in Iconify's JSON format (`icons.json`: `{ width, height, icons: { name: { body,
/// width?, height?, left?, top? } } }`).
fn load_iconify(source: RealSource, dir: &Path) -> Result<Vec<RealLogo>, TruthError> {
    let path = dir.join("icons.json");
    let doc: serde_json::Value =
        serde_json::from_str(&read(&path)?).map_err(|e| TruthError::File {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let num = |v: &serde_json::Value, default: f64| v.as_f64().unwrap_or(default);
    let (dw, dh) = (num(&doc["width"], 16.0), num(&doc["height"], 16.0));
    let mut out = Vec::new();
    if let Some(icons) = doc["icons"].as_object() {
        for (name, icon) in icons {
            let Some(body) = icon["body"].as_str() else {
                continue;
            };
            let (w, h) = (num(&icon["width"], dw), num(&icon["height"], dh));
            let (l, t) = (num(&icon["left"], 0.0), num(&icon["top"], 0.0));
            let svg = format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{w}" height="{h}" viewBox="{l} {t} {w} {h}">{body}</svg>"#
            );
            out.push(RealLogo {
                source,
                brand: iconify_brand(source, name),
                wordmark: name.contains("wordmark") || name.ends_with("-text"),
                name: name.clone(),
                svg,
            });
        }
    }
    Ok(out)
}

fn load_simple_icons(dir: &Path) -> Result<Vec<RealLogo>, TruthError> {
    let path = dir.join("data/simple-icons.json");
    let data: serde_json::Value =
        serde_json::from_str(&read(&path)?).map_err(|e| TruthError::File {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let mut out = Vec::new();
    for entry in data.as_array().map(Vec::as_slice).unwrap_or_default() {
        let (Some(slug), Some(hex)) = (entry["slug"].as_str(), entry["hex"].as_str()) else {
            continue;
        };
        let file = dir.join("icons").join(format!("{slug}.svg"));
        let Ok(svg) = std::fs::read_to_string(&file) else {
            continue;
        };
        // Monochrome icons: give the root its brand colour (children inherit it).
        let svg = svg.replacen("<svg ", &format!(r##"<svg fill="#{hex}" "##), 1);
        out.push(RealLogo {
            source: RealSource::SimpleIcons,
            name: slug.to_string(),
            brand: brand_key(slug),
            svg,
            wordmark: false,
        });
    }
    Ok(out)
}

fn load_devicon(dir: &Path) -> Result<Vec<RealLogo>, TruthError> {
    let icons = dir.join("icons");
    let entries = std::fs::read_dir(&icons).map_err(|e| TruthError::File {
        path: icons.clone(),
        reason: e.to_string(),
    })?;
    let mut folders: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    folders.sort();
    let mut out = Vec::new();
    for folder in folders {
        let Ok(files) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut files: Vec<PathBuf> = files
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "svg"))
            .collect();
        files.sort();
        let brand = folder
            .file_name()
            .map(|n| brand_key(&n.to_string_lossy()))
            .unwrap_or_default();
        for file in files {
            let Ok(svg) = std::fs::read_to_string(&file) else {
                continue;
            };
            let name = file
                .file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push(RealLogo {
                source: RealSource::Devicon,
                wordmark: name.contains("wordmark"),
                brand: brand.clone(),
                name,
                svg,
            });
        }
    }
    Ok(out)
}

/// Fetches (if needed) and loads `sources`, in the order given.
pub fn load_sources(sources: &[RealSource], cache: &Path) -> Result<Vec<RealLogo>, TruthError> {
    let mut all = Vec::new();
    for &source in sources {
        let dir = fetch(source.package(), cache)?;
        all.extend(load(source, &dir)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brand_keys_match_across_sources() {
        assert_eq!(brand_key("google-cloud-icon"), "googlecloud");
        assert_eq!(brand_key("googlecloud"), "googlecloud");
        assert_eq!(brand_key("react-original-wordmark"), "react");
        assert_eq!(brand_key("react"), "react");
        assert_eq!(brand_key("icon"), "icon");
    }

    #[test]
    fn source_names_round_trip_and_outside_sources_are_apart() {
        for s in RealSource::known() {
            assert_eq!(RealSource::from_name(s.name()), Some(s));
            assert!(
                s.package()
                    .version
                    .split('.')
                    .all(|n| n.parse::<u32>().is_ok())
            );
        }
        assert!(
            RealSource::ALL
                .iter()
                .all(|s| !RealSource::OUTSIDE.contains(s))
        );
        assert_eq!(RealSource::from_name("synthetic"), None);
    }

    #[test]
    fn iconify_sets_load_with_their_source_and_brand() {
        let dir = std::env::temp_dir().join(format!("vectune-iconify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("icons.json"),
            r##"{"prefix":"token-branded","width":24,"height":24,"icons":{
                "uniswap":{"body":"<path fill=\"#f0f\" d=\"M0 0h24v24H0z\"/>"},
                "uniswap-background":{"body":"<circle cx=\"12\" cy=\"12\" r=\"12\"/>","width":32},
                "no-body":{"width":5}}}"##,
        )
        .unwrap();
        let logos = load(RealSource::TokenBranded, &dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(logos.len(), 2, "the icon without a body is skipped");
        assert!(logos.iter().all(|l| l.source == RealSource::TokenBranded));
        assert!(
            logos.iter().all(|l| l.brand == "uniswap"),
            "`-background` is a variant"
        );
        let wide = logos
            .iter()
            .find(|l| l.name == "uniswap-background")
            .unwrap();
        assert!(wide.svg.contains(r#"viewBox="0 0 32 24""#), "{}", wide.svg);
    }

    #[test]
    fn class_inference() {
        let logo = |svg: &str, wordmark| RealLogo {
            source: RealSource::Devicon,
            name: "x".into(),
            brand: "x".into(),
            svg: svg.into(),
            wordmark,
        };
        assert_eq!(logo("<path/>", true).inferred_class(), LogoClass::TextBased);
        assert_eq!(
            logo("<linearGradient/>", false).inferred_class(),
            LogoClass::Gradient
        );
        assert_eq!(
            logo(r##"<path fill="#fff"/>"##, false).inferred_class(),
            LogoClass::SimpleGeometric
        );
        let busy = (0..6)
            .map(|i| format!(r##"<path fill="#00000{i}"/>"##))
            .collect::<String>();
        assert_eq!(logo(&busy, false).inferred_class(), LogoClass::Complex);
    }
}
