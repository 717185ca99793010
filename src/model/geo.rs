//! Where things are on the ground: Jilin's administrative divisions (names,
//! GB/T 2260 codes, centres and simplified outlines, from
//! `assets/geo/jilin.json`, see `assets/geo/README.md`), points, straight-line
//! distances and the division a point falls in.
//!
//! Owns: the bundled geodata and plane geometry on it. Must not touch: I/O
//! (the data is compiled in), place names in free text (that is
//! [`super::address`]), drawing.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The bundled divisions, compiled into the binary so neither the console
/// nor the service needs a data directory at run time.
pub const BUILTIN_JSON: &str = include_str!("../../assets/geo/jilin.json");

/// A position as longitude/latitude in degrees, in the coordinate system of
/// the bundled geodata (see `assets/geo/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Self {
        GeoPoint { lat, lon }
    }

    /// From the `[lon, lat]` pairs of GeoJSON and our assets.
    pub fn from_lon_lat([lon, lat]: [f64; 2]) -> Self {
        GeoPoint { lat, lon }
    }

    /// Great-circle distance in metres (haversine on a spherical earth):
    /// good to a fraction of a percent at a province's scale, which is all a
    /// "nearest unit" needs.
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
    }

    /// The point `metres` along the straight line towards `to`, or `to`
    /// when it is nearer: how a simulated patrol car drives.
    pub fn toward(self, to: GeoPoint, metres: f64) -> GeoPoint {
        let d = self.distance_m(to);
        if d <= metres || d == 0.0 {
            return to;
        }
        let f = metres / d;
        GeoPoint::new(self.lat + (to.lat - self.lat) * f, self.lon + (to.lon - self.lon) * f)
    }

    /// Whether this is a plausible position at all (finite, on the globe).
    pub fn is_valid(self) -> bool {
        self.lat.is_finite() && self.lon.is_finite() && self.lat.abs() <= 90.0 && self.lon.abs() <= 180.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 地级: a prefecture-level city or autonomous prefecture.
    Prefecture,
    /// 县级: a district, county-level city, county or autonomous county.
    County,
}

/// One administrative division with its outline.
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "RawDivision")]
pub struct Division {
    /// GB/T 2260 code, e.g. "222401" for 延吉市.
    pub code: String,
    pub name: String,
    pub level: Level,
    /// The code of the division above ("220000" for a prefecture).
    pub parent: String,
    pub centre: GeoPoint,
    /// Outer rings; a division of several parts has several.
    pub rings: Vec<Vec<GeoPoint>>,
    /// (south-west, north-east) corners around every ring.
    pub bounds: (GeoPoint, GeoPoint),
}

#[derive(Deserialize)]
struct RawDivision {
    code: String,
    name: String,
    level: Level,
    parent: String,
    centre: [f64; 2],
    rings: Vec<Vec<[f64; 2]>>,
}

impl From<RawDivision> for Division {
    fn from(r: RawDivision) -> Self {
        let rings: Vec<Vec<GeoPoint>> = r
            .rings
            .into_iter()
            .map(|ring| ring.into_iter().map(GeoPoint::from_lon_lat).collect())
            .collect();
        let centre = GeoPoint::from_lon_lat(r.centre);
        let mut sw = centre;
        let mut ne = centre;
        for p in rings.iter().flatten() {
            sw = GeoPoint::new(sw.lat.min(p.lat), sw.lon.min(p.lon));
            ne = GeoPoint::new(ne.lat.max(p.lat), ne.lon.max(p.lon));
        }
        Division {
            code: r.code,
            name: r.name,
            level: r.level,
            parent: r.parent,
            centre,
            rings,
            bounds: (sw, ne),
        }
    }
}

impl Division {
    /// Whether `p` lies inside the outline (even–odd rule over all rings,
    /// so a ring inside another counts as a hole).
    pub fn contains(&self, p: GeoPoint) -> bool {
        let (sw, ne) = self.bounds;
        if p.lat < sw.lat || p.lat > ne.lat || p.lon < sw.lon || p.lon > ne.lon {
            return false;
        }
        let mut inside = false;
        for ring in &self.rings {
            let mut j = ring.len().wrapping_sub(1);
            for (i, a) in ring.iter().enumerate() {
                let b = ring[j];
                if (a.lat > p.lat) != (b.lat > p.lat)
                    && p.lon < (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon
                {
                    inside = !inside;
                }
                j = i;
            }
        }
        inside
    }

    /// The name without its administrative suffix, as people say it:
    /// "延吉" for 延吉市, "前郭尔罗斯蒙古族自治" stays long (aliases handle it).
    pub fn short_name(&self) -> &str {
        ["市", "区", "县"]
            .iter()
            .find_map(|s| self.name.strip_suffix(s))
            .filter(|s| s.chars().count() >= 2)
            .unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct GeoData {
    /// Where the data came from (packages, versions, licences).
    pub source: String,
    pub divisions: Vec<Division>,
}

impl GeoData {
    pub fn builtin() -> Self {
        #[expect(clippy::expect_used, reason = "the bundled asset is checked by a unit test")]
        serde_json::from_str(BUILTIN_JSON).expect("assets/geo/jilin.json is valid")
    }

    /// The bundled divisions, parsed once.
    pub fn shared() -> &'static GeoData {
        static SHARED: std::sync::OnceLock<GeoData> = std::sync::OnceLock::new();
        SHARED.get_or_init(GeoData::builtin)
    }

    pub fn division(&self, code: &str) -> Option<&Division> {
        self.divisions.iter().find(|d| d.code == code)
    }

    pub fn counties(&self) -> impl Iterator<Item = &Division> {
        self.divisions.iter().filter(|d| d.level == Level::County)
    }

    pub fn prefectures(&self) -> impl Iterator<Item = &Division> {
        self.divisions.iter().filter(|d| d.level == Level::Prefecture)
    }

    /// The county-level division `p` lies in; `None` outside the province.
    pub fn county_at(&self, p: GeoPoint) -> Option<&Division> {
        self.counties().find(|d| d.contains(p))
    }

    /// (south-west, north-east) around the whole province.
    pub fn bounds(&self) -> (GeoPoint, GeoPoint) {
        let mut it = self.counties().map(|d| d.bounds);
        let first = it
            .next()
            .unwrap_or((GeoPoint::new(40.8, 121.6), GeoPoint::new(46.3, 131.3)));
        it.fold(first, |(sw, ne), (a, b)| {
            (
                GeoPoint::new(sw.lat.min(a.lat), sw.lon.min(a.lon)),
                GeoPoint::new(ne.lat.max(b.lat), ne.lon.max(b.lon)),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_divisions_cover_jilin() {
        let g = GeoData::shared();
        assert_eq!(g.prefectures().count(), 9, "Jilin has nine prefecture-level divisions");
        let counties: Vec<_> = g.counties().collect();
        assert!(counties.len() >= 55, "{} county-level divisions", counties.len());
        for d in &counties {
            assert!(g.division(&d.parent).is_some(), "{} has no parent {}", d.name, d.parent);
            assert!(!d.rings.is_empty(), "{} has no outline", d.name);
            assert!(d.contains(d.centre), "{}'s centre lies outside it", d.name);
            let others: Vec<_> = counties
                .iter()
                .filter(|o| o.code != d.code && o.contains(d.centre))
                .collect();
            assert!(others.is_empty(), "{}'s centre also in {}", d.name, others[0].name);
        }
        let yanji = g.county_at(GeoPoint::new(42.89, 129.50)).map(|d| d.name.as_str());
        assert_eq!(yanji, Some("延吉市"));
        assert_eq!(
            g.county_at(GeoPoint::new(39.9, 116.4)).map(|d| d.code.as_str()),
            None,
            "Beijing"
        );
    }

    #[test]
    fn distances_are_great_circle_metres() {
        // Changchun to Jilin city: about 95 km in a straight line.
        let cc = GeoPoint::new(43.8171, 125.3235);
        let jl = GeoPoint::new(43.8378, 126.5494);
        let d = cc.distance_m(jl);
        assert!((95_000.0..100_000.0).contains(&d), "{d}");
        assert_eq!(cc.distance_m(cc), 0.0);
        // One degree of latitude is about 111 km anywhere.
        let north = GeoPoint::new(44.8171, 125.3235);
        assert!((cc.distance_m(north) - 111_195.0).abs() < 100.0);
        let step = cc.toward(jl, 1_000.0);
        assert!((cc.distance_m(step) - 1_000.0).abs() < 5.0);
        assert!((step.distance_m(jl) - (d - 1_000.0)).abs() < 5.0);
        assert_eq!(cc.toward(jl, 200_000.0), jl);
    }

    #[test]
    fn a_ring_inside_another_is_a_hole() {
        let sq = |a: f64, b: f64| vec![[a, a], [b, a], [b, b], [a, b]];
        let d = Division::from(RawDivision {
            code: "1".into(),
            name: "测试区".into(),
            level: Level::County,
            parent: "0".into(),
            centre: [0.5, 0.5],
            rings: vec![sq(0.0, 10.0), sq(4.0, 6.0)],
        });
        assert!(d.contains(GeoPoint::new(1.0, 1.0)));
        assert!(!d.contains(GeoPoint::new(5.0, 5.0)));
        assert!(!d.contains(GeoPoint::new(11.0, 5.0)));
        assert_eq!(d.short_name(), "测试");
    }
}
