"""Write the Parquet test fixtures in tests/fixtures/parquet/.

The fixtures are small Major TOM embedding files (6 rows unless noted, embedding
dimension 8) written with the reference writers, geopandas `to_parquet` and
pyarrow. Files 1-11 are valid inputs, and each gets a NAME.expected.json
computed by reading the written file back with pyarrow and shapely. Files 12-20 are invalid inputs that the Rust reader must reject.
Row numbers in the fixture descriptions below are 0-based.

Rerun from the repository root:

    python3 dev/make_parquet_fixtures.py

A fixed numpy seed makes the values repeatable, but the Parquet bytes can change
with the pyarrow and geopandas versions (the files record their `created_by`).
The script overwrites its own files and deletes nothing else in the folder.
"""

import json
from datetime import datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import Transformer
from shapely.geometry import Point, box

SEED = 20240601
DIM = 8
OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "parquet"

# Real Major TOM cells: (cell id, centre latitude, centre longitude) in degrees.
CELLS = [
    ("337U_1155R", 30.3144, 120.1586),
    ("453U_625L", 40.7362, -74.0010),
    ("716U_81R", 64.3607, 16.8391),
    ("922D_249L", -82.7396, -178.4597),
    ("301U_1184R", 27.0815, 119.4561),
    ("1D_1L", -0.0449, -0.0449),
]

# Half-widths of the footprint square around the cell centre, in degrees.
HALF_HEIGHT_DEG = 0.045
HALF_WIDTH_DEG = 0.05

# MGRS latitude bands C to X, 8° each from 80°S, except X (72°N to 84°N).
MGRS_BANDS = "CDEFGHJKLMNPQRSTUVWX"


def parse_cell_id(cell_id):
    """Return (grid_row_u, grid_col_r) for an id like "922D_249L".

    U and R give positive numbers, D and L negative ones.
    """
    row_part, col_part = cell_id.split("_")
    row = int(row_part[:-1]) * (1 if row_part[-1] == "U" else -1)
    col = int(col_part[:-1]) * (1 if col_part[-1] == "R" else -1)
    return row, col


def utm_epsg(lat, lon):
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone, zone


def footprint(lat, lon):
    return box(lon - HALF_WIDTH_DEG, lat - HALF_HEIGHT_DEG, lon + HALF_WIDTH_DEG, lat + HALF_HEIGHT_DEG)


def make_cells(count):
    """Cycle CELLS to `count` rows.

    When `count` exceeds len(CELLS), row i moves north by i * 0.001° so that
    repeated cells get distinct centres and footprints.
    """
    cells = []
    for i in range(count):
        cell_id, lat, lon = CELLS[i % len(CELLS)]
        if count > len(CELLS):
            lat = lat + i * 0.001
        cells.append((cell_id, lat, lon))
    return cells


def make_metadata_columns(cells, rng):
    """Build every column of the Major TOM schema except embedding and geometry.

    String columns use the object dtype so that pyarrow writes them as Arrow
    string. pandas 3 (checked with 3.1.1) would write its default `str` dtype as
    large_string.
    """
    columns = {
        "unique_id": [],
        "timestamp": [],
        "product_id": [],
        "grid_cell": [],
        "grid_row_u": [],
        "grid_col_r": [],
        "centre_lat": [],
        "centre_lon": [],
        "utm_footprint": [],
        "utm_crs": [],
        "pixel_bbox": [],
    }
    first_acquisition = datetime(2020, 1, 1, 10, 34, 21)

    for i, (cell_id, lat, lon) in enumerate(cells):
        row, col = parse_cell_id(cell_id)
        epsg, zone = utm_epsg(lat, lon)
        band = MGRS_BANDS[min(max(int((lat + 80.0) // 8.0), 0), len(MGRS_BANDS) - 1)]
        acquired = first_acquisition + timedelta(days=5 * i, seconds=37 * i)
        timestamp = acquired.strftime("%Y%m%dT%H%M%S")
        processed = acquired.strftime("%Y%m%d") + "T121000"
        to_utm = Transformer.from_crs("EPSG:4326", f"EPSG:{epsg}", always_xy=True)
        utm_polygon = shapely.transform(footprint(lat, lon), to_utm.transform, interleaved=False)
        x0 = (i % 3) * 224

        columns["unique_id"].append(rng.bytes(16).hex())
        columns["timestamp"].append(timestamp)
        columns["product_id"].append(f"S2A_MSIL2A_{timestamp}_N0213_R108_T{zone:02d}{band}UP_{processed}")
        columns["grid_cell"].append(cell_id)
        columns["grid_row_u"].append(row)
        columns["grid_col_r"].append(col)
        columns["centre_lat"].append(lat)
        columns["centre_lon"].append(lon)
        columns["utm_footprint"].append(shapely.to_wkt(utm_polygon, rounding_precision=2))
        columns["utm_crs"].append(f"EPSG:{epsg}")
        columns["pixel_bbox"].append(np.array([x0, 0, x0 + 224, 224], dtype=np.int64))

    frame = pd.DataFrame(
        {
            "unique_id": pd.Series(columns["unique_id"], dtype=object),
            "timestamp": pd.Series(columns["timestamp"], dtype=object),
            "product_id": pd.Series(columns["product_id"], dtype=object),
            "grid_cell": pd.Series(columns["grid_cell"], dtype=object),
            "grid_row_u": np.array(columns["grid_row_u"], dtype=np.int16),
            "grid_col_r": np.array(columns["grid_col_r"], dtype=np.int16),
            "centre_lat": np.array(columns["centre_lat"], dtype=np.float32),
            "centre_lon": np.array(columns["centre_lon"], dtype=np.float32),
            "utm_footprint": pd.Series(columns["utm_footprint"], dtype=object),
            "utm_crs": pd.Series(columns["utm_crs"], dtype=object),
            "pixel_bbox": pd.Series(columns["pixel_bbox"], dtype=object),
        }
    )
    return frame


def make_geodataframe(cells, embeddings, rng, with_centre=True, geometry="polygon"):
    """Build a GeoDataFrame with the full Major TOM column order.

    `embeddings` is a list with one numpy array, string or None per row, or None
    to leave the embedding column out. `geometry` is "polygon" for the footprint
    square or "point" for the cell centre.
    """
    metadata = make_metadata_columns(cells, rng)
    frame = pd.DataFrame({"unique_id": metadata["unique_id"]})
    if embeddings is not None:
        frame["embedding"] = pd.Series(embeddings, dtype=object)
    for name in ["timestamp", "product_id", "grid_cell", "grid_row_u", "grid_col_r"]:
        frame[name] = metadata[name]

    if geometry == "polygon":
        frame["geometry"] = [footprint(lat, lon) for _, lat, lon in cells]
    else:
        frame["geometry"] = [Point(lon, lat) for _, lat, lon in cells]

    if with_centre:
        frame["centre_lat"] = metadata["centre_lat"]
        frame["centre_lon"] = metadata["centre_lon"]
    for name in ["utm_footprint", "utm_crs", "pixel_bbox"]:
        frame[name] = metadata[name]

    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def random_embeddings(rng, rows, dtype):
    return list(rng.standard_normal((rows, DIM)).astype(dtype))


def write_geopandas(name, frame, **kwargs):
    path = OUT_DIR / name
    frame.to_parquet(path, index=False, **kwargs)
    return path


def write_with_embedding_array(name, base_table, embedding):
    """Write `base_table` with its embedding column replaced by `embedding`.

    The pandas schema metadata is dropped because pandas did not write this
    file, but the GeoParquet `geo` metadata is kept.
    """
    index = base_table.schema.get_field_index("embedding")
    table = base_table.set_column(index, pa.field("embedding", embedding.type), embedding)
    metadata = {key: value for key, value in (table.schema.metadata or {}).items() if key != b"pandas"}
    table = table.replace_schema_metadata(metadata)
    path = OUT_DIR / name
    pq.write_table(table, path, compression="snappy")
    return path


def write_minimal(name, cells, embeddings):
    """Write only embedding (list<float32>), centre_lat and centre_lon with pyarrow.

    `embeddings` contains one numpy array or None per row.
    """
    table = pa.table(
        {
            "embedding": pa.array(embeddings, type=pa.list_(pa.float32())),
            "centre_lat": pa.array([lat for _, lat, _ in cells], type=pa.float32()),
            "centre_lon": pa.array([lon for _, _, lon in cells], type=pa.float32()),
        }
    )
    path = OUT_DIR / name
    pq.write_table(table, path, compression="snappy")
    return path


def nested_1xd(values, outer_offset_type):
    """Wrap a (rows, DIM) numpy array as list<list<T>> with one inner list per row."""
    rows = values.shape[0]
    flat = pa.array(values.reshape(-1))
    inner = pa.ListArray.from_arrays(pa.array(np.arange(0, rows * DIM + 1, DIM, dtype=np.int32)), flat)
    outer_offsets = pa.array(np.arange(rows + 1, dtype=outer_offset_type))
    if outer_offset_type == np.int64:
        return pa.LargeListArray.from_arrays(outer_offsets, inner)
    return pa.ListArray.from_arrays(outer_offsets, inner)


def require_embedding_type(path, expected):
    actual = pq.read_schema(path).field("embedding").type
    if actual != expected:
        raise SystemExit(f"{path.name}: the writer stored embedding as {actual}, expected {expected}")


def embedding_value_type(data_type):
    while pa.types.is_list(data_type) or pa.types.is_large_list(data_type) or pa.types.is_fixed_size_list(data_type):
        data_type = data_type.value_type
    return data_type


def flatten_row(row):
    """Return one embedding row as a flat list of Python floats, unwrapping a (1, D) row."""
    if row and isinstance(row[0], list):
        if len(row) != 1:
            raise SystemExit(f"nested embedding row has shape ({len(row)}, ...), expected (1, {DIM})")
        row = row[0]
    return [float(value) for value in row]


def read_centres(table):
    """Return (centre_lat, centre_lon) lists from the centre columns or the WKB geometry.

    A polygon's centre is the centre of its bounding box and a point's centre is
    the point itself. Geometry-derived centres stay float64.
    """
    names = table.column_names
    if "centre_lat" in names and "centre_lon" in names:
        lats = [float(value) for value in table.column("centre_lat").to_pylist()]
        lons = [float(value) for value in table.column("centre_lon").to_pylist()]
        return lats, lons

    lats, lons = [], []
    for wkb in table.column("geometry").to_pylist():
        geometry = shapely.from_wkb(wkb)
        if geometry.geom_type == "Point":
            lats.append(geometry.y)
            lons.append(geometry.x)
        else:
            min_x, min_y, max_x, max_y = geometry.bounds
            lats.append((min_y + max_y) / 2.0)
            lons.append((min_x + max_x) / 2.0)
    return lats, lons


def optional_strings(table, name):
    if name not in table.column_names:
        return None
    return table.column(name).to_pylist()


def build_expected(path):
    """Read a valid fixture back with pyarrow and return its expected.json content."""
    table = pq.read_table(path)
    value_type = embedding_value_type(table.schema.field("embedding").type)
    dtype = {pa.float16(): "f16", pa.float32(): "f32", pa.float64(): "f64"}[value_type]

    embeddings = [flatten_row(row) for row in table.column("embedding").to_pylist()]
    for index, row in enumerate(embeddings):
        if len(row) != DIM:
            raise SystemExit(f"{path.name}: row {index} has {len(row)} values, expected {DIM}")

    centre_lat, centre_lon = read_centres(table)
    return {
        "rows": table.num_rows,
        "dim": DIM,
        "dtype": dtype,
        "embeddings": embeddings,
        "centre_lat": centre_lat,
        "centre_lon": centre_lon,
        "grid_cell": optional_strings(table, "grid_cell"),
        "product_id": optional_strings(table, "product_id"),
        "timestamp": optional_strings(table, "timestamp"),
        "row_groups": pq.ParquetFile(path).metadata.num_row_groups,
    }


def write_expected(path):
    """Write NAME.expected.json next to the fixture, with one embedding row per line."""
    expected = build_expected(path)
    lines = ["{"]
    keys = list(expected)
    for position, key in enumerate(keys):
        comma = "," if position < len(keys) - 1 else ""
        if key == "embeddings":
            rows = [f"    {json.dumps(row)}" for row in expected[key]]
            lines.append(f'  "{key}": [\n' + ",\n".join(rows) + f"\n  ]{comma}")
        else:
            lines.append(f'  "{key}": {json.dumps(expected[key])}{comma}')
    lines.append("}")
    expected_path = path.with_name(path.name.removesuffix(".parquet") + ".expected.json")
    expected_path.write_text("\n".join(lines) + "\n")


def write_valid_fixtures(rng):
    cells = make_cells(len(CELLS))
    valid = []

    # 1. Full schema, list<float32>.
    frame = make_geodataframe(cells, random_embeddings(rng, len(cells), np.float32), rng)
    list_f32 = write_geopandas("list_f32.parquet", frame)
    require_embedding_type(list_f32, pa.list_(pa.float32()))
    valid.append(list_f32)
    base_table = pq.read_table(list_f32)

    # 2. Full schema, list<float16>: pyarrow stores FIXED_LEN_BYTE_ARRAY(2) with the Float16 logical type.
    frame = make_geodataframe(cells, random_embeddings(rng, len(cells), np.float16), rng)
    path = write_geopandas("list_f16.parquet", frame)
    require_embedding_type(path, pa.list_(pa.float16()))
    valid.append(path)

    # 3. fixed_size_list<float32>[8], written by pyarrow.
    values = rng.standard_normal((len(cells), DIM)).astype(np.float32)
    embedding = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), DIM)
    path = write_with_embedding_array("fixed_size_list_f32.parquet", base_table, embedding)
    require_embedding_type(path, pa.list_(pa.float32(), DIM))
    valid.append(path)

    # 4. list<list<float16>> with shape (1, 8) per row, one (1, D) matrix per vector.
    values = rng.standard_normal((len(cells), DIM)).astype(np.float16)
    path = write_with_embedding_array("nested_1xd_f16.parquet", base_table, nested_1xd(values, np.int32))
    require_embedding_type(path, pa.list_(pa.list_(pa.float16())))
    valid.append(path)

    # 5. large_list<list<float32>> with shape (1, 8) per row.
    values = rng.standard_normal((len(cells), DIM)).astype(np.float32)
    path = write_with_embedding_array("nested_1xd_f32_large.parquet", base_table, nested_1xd(values, np.int64))
    require_embedding_type(path, pa.large_list(pa.list_(pa.float32())))
    valid.append(path)

    # 6. No centre columns, so the reader must take the centre of the footprint polygon.
    frame = make_geodataframe(cells, random_embeddings(rng, len(cells), np.float32), rng, with_centre=False)
    valid.append(write_geopandas("geometry_only.parquet", frame))

    # 7. No centre columns, and the geometry is a WKB Point at the cell centre.
    frame = make_geodataframe(
        cells, random_embeddings(rng, len(cells), np.float32), rng, with_centre=False, geometry="point"
    )
    valid.append(write_geopandas("point_geometry.parquet", frame))

    # 8. Only embedding, centre_lat and centre_lon, written by pyarrow with no geometry or ids.
    valid.append(write_minimal("minimal.parquet", cells, random_embeddings(rng, len(cells), np.float32)))

    # 9. As list_f32 but zstd-compressed.
    frame = make_geodataframe(cells, random_embeddings(rng, len(cells), np.float32), rng)
    valid.append(write_geopandas("zstd.parquet", frame, compression="zstd"))

    # 10. 30 rows in row groups of 4 (8 groups), list<float16>.
    many_cells = make_cells(30)
    frame = make_geodataframe(many_cells, random_embeddings(rng, len(many_cells), np.float16), rng)
    path = write_geopandas("multi_row_group.parquet", frame, row_group_size=4)
    require_embedding_type(path, pa.list_(pa.float16()))
    valid.append(path)

    # 11. list<float64>.
    frame = make_geodataframe(cells, random_embeddings(rng, len(cells), np.float64), rng)
    path = write_geopandas("f64_embedding.parquet", frame)
    require_embedding_type(path, pa.list_(pa.float64()))
    valid.append(path)

    for path in valid:
        write_expected(path)
    return list_f32


def write_invalid_fixtures(rng, list_f32):
    """Write fixtures 12-20, which the reader must reject.

    The embedding defects (13, 14, 17, 20) use the minimal pyarrow layout, which
    is about 1.4 KB per file instead of about 16 KB with the full schema.
    """
    cells = make_cells(len(CELLS))

    # 12. Full schema without the embedding column.
    write_geopandas("no_embedding.parquet", make_geodataframe(cells, None, rng))

    # 13. Row 3 has 7 values instead of 8.
    embeddings = random_embeddings(rng, len(cells), np.float32)
    embeddings[3] = embeddings[3][: DIM - 1]
    write_minimal("ragged_dims.parquet", cells, embeddings)

    # 14. Row 2 is all NaN.
    embeddings = random_embeddings(rng, len(cells), np.float32)
    embeddings[2] = np.full(DIM, np.nan, dtype=np.float32)
    write_minimal("nan_vector.parquet", cells, embeddings)

    # 15. The embedding column contains JSON-like strings such as "[0.1, -0.2, ...]".
    vectors = random_embeddings(rng, len(cells), np.float32)
    embeddings = [json.dumps([round(float(value), 4) for value in row]) for row in vectors]
    path = write_geopandas("string_embedding.parquet", make_geodataframe(cells, embeddings, rng))
    require_embedding_type(path, pa.string())

    # 16. Only the embedding column, so no location can be found.
    values = rng.standard_normal((len(cells), DIM)).astype(np.float32)
    table = pa.table({"embedding": pa.array(list(values), type=pa.list_(pa.float32()))})
    pq.write_table(table, OUT_DIR / "no_location.parquet", compression="snappy")

    # 17. Row 4 is all zeros, which has no direction for cosine similarity.
    embeddings = random_embeddings(rng, len(cells), np.float32)
    embeddings[4] = np.zeros(DIM, dtype=np.float32)
    write_minimal("zero_vector.parquet", cells, embeddings)

    # 18. CSV text with a .parquet name.
    csv_text = "grid_cell,centre_lat,centre_lon\n337U_1155R,30.3144,120.1586\n453U_625L,40.7362,-74.0010\n"
    (OUT_DIR / "not_parquet.parquet").write_text(csv_text)

    # 19. The first half of list_f32.parquet, so the footer and its PAR1 magic are missing.
    data = list_f32.read_bytes()
    (OUT_DIR / "truncated.parquet").write_bytes(data[: len(data) // 2])

    # 20. Row 1's embedding is null.
    embeddings = random_embeddings(rng, len(cells), np.float32)
    embeddings[1] = None
    write_minimal("null_embedding.parquet", cells, embeddings)


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    list_f32 = write_valid_fixtures(rng)
    write_invalid_fixtures(rng, list_f32)

    total = 0
    for path in sorted(OUT_DIR.iterdir()):
        size = path.stat().st_size
        total += size
        print(f"{size:8d}  {path.name}")
    print(f"{total:8d}  total bytes")


if __name__ == "__main__":
    main()
