//! Drawing the world map on a canvas: basemap, tiles coloured by score, the top ‰, the top-k
//! and the query point.

use wasm_bindgen::{Clamped, JsCast, JsValue};
use web_sys::{CanvasRenderingContext2d, CanvasWindingRule, HtmlCanvasElement, ImageData};

use super::view::{MapView, viridis};
use crate::data::geoparquet::EmbeddingTable;
use crate::data::topo::{Ring, ring_copies};
use crate::search::{Hit, Threshold};

/// Side of a drawn tile in degrees of latitude: three 10 km cells, because the indexes keep
/// every third row and column.
const TILE_SPAN_DEGREES: f64 = 0.27;
const OCEAN: &str = "#dde7ef";
const LAND: &str = "#f3f1ea";
const COASTLINE: &str = "#9c9687";
const TOP_PERMILLE_RGB: [u8; 3] = [230, 25, 75];

pub struct Layers<'a> {
    pub rings: &'a [Ring],
    pub table: Option<&'a EmbeddingTable>,
    pub scores: Option<&'a [f32]>,
    pub threshold: Option<Threshold>,
    pub top: &'a [Hit],
    pub query_point: Option<(f64, f64)>,
}

fn context(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, JsValue> {
    canvas.get_context("2d")?.ok_or_else(|| JsValue::from_str("no 2d context"))?.dyn_into::<CanvasRenderingContext2d>().map_err(JsValue::from)
}

pub fn draw(canvas: &HtmlCanvasElement, view: &MapView, layers: &Layers<'_>) -> Result<(), JsValue> {
    let ctx = context(canvas)?;
    ctx.set_fill_style_str(OCEAN);
    ctx.fill_rect(0.0, 0.0, view.width, view.height);

    draw_land(&ctx, view, layers.rings);
    if let Some(table) = layers.table {
        // Scores of another dataset (a query that raced a dataset switch) are not drawn.
        let scores = layers.scores.filter(|s| s.len() == table.len());
        draw_tiles(&ctx, view, table, scores, layers.threshold)?;
        draw_top(&ctx, view, table, layers.top);
    }
    if let Some((lat, lon)) = layers.query_point {
        let (x, y) = view.to_screen(lat, lon);
        ctx.set_stroke_style_str("#111");
        ctx.set_line_width(2.0);
        ctx.begin_path();
        ctx.move_to(x - 9.0, y);
        ctx.line_to(x + 9.0, y);
        ctx.move_to(x, y - 9.0);
        ctx.line_to(x, y + 9.0);
        ctx.stroke();
    }
    Ok(())
}

fn draw_land(ctx: &CanvasRenderingContext2d, view: &MapView, rings: &[Ring]) {
    ctx.begin_path();
    for ring in rings {
        for shift in ring_copies(ring) {
            for (i, &[lon, lat]) in ring.iter().enumerate() {
                let (x, y) = view.to_screen(lat, lon + shift);
                if i == 0 {
                    ctx.move_to(x, y);
                } else {
                    ctx.line_to(x, y);
                }
            }
            ctx.close_path();
        }
    }
    ctx.set_fill_style_str(LAND);
    ctx.fill_with_canvas_winding_rule(CanvasWindingRule::Evenodd);
    ctx.set_stroke_style_str(COASTLINE);
    ctx.set_line_width(0.6);
    ctx.stroke();
}

fn draw_tiles(ctx: &CanvasRenderingContext2d, view: &MapView, table: &EmbeddingTable, scores: Option<&[f32]>, threshold: Option<Threshold>) -> Result<(), JsValue> {
    let (width, height) = (view.width as usize, view.height as usize);
    let mut pixels = vec![0u8; width * height * 4];
    let (low, high) = scores.map_or((0.0, 1.0), |s| {
        s.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
    });
    let range = f64::from((high - low).max(f32::EPSILON));
    let side_y = (TILE_SPAN_DEGREES * view.pixels_per_degree).max(1.5);
    let mut highlighted = Vec::new();
    for index in 0..table.len() {
        let (lat, lon) = (f64::from(table.lat[index]), f64::from(table.lon[index]));
        let side_x = (side_y / lat.to_radians().cos().max(0.05)).min(side_y * 20.0);
        let (x, y) = view.to_screen(lat, lon);
        let colour = match scores {
            Some(scores) => {
                let score = scores[index];
                if threshold.is_some_and(|t| score >= t.min_score) {
                    highlighted.push(index);
                    continue;
                }
                viridis(f64::from(score - low) / range)
            }
            None => [120, 120, 120],
        };
        fill_rect(&mut pixels, width, height, x, y, side_x, side_y, colour, 215);
    }
    // The top ‰ goes on top and a little larger, so it stays visible at world scale.
    for index in highlighted {
        let (lat, lon) = (f64::from(table.lat[index]), f64::from(table.lon[index]));
        let side = side_y.max(3.0);
        let (x, y) = view.to_screen(lat, lon);
        fill_rect(&mut pixels, width, height, x, y, side / lat.to_radians().cos().max(0.05).min(1.0), side, TOP_PERMILLE_RGB, 255);
    }
    let image = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&pixels), width as u32, height as u32)?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or_else(|| JsValue::from_str("no document"))?;
    let layer: HtmlCanvasElement = document.create_element("canvas")?.dyn_into()?;
    layer.set_width(width as u32);
    layer.set_height(height as u32);
    context(&layer)?.put_image_data(&image, 0.0, 0.0)?;
    ctx.draw_image_with_html_canvas_element(&layer, 0.0, 0.0)
}

#[allow(clippy::too_many_arguments)]
fn fill_rect(pixels: &mut [u8], width: usize, height: usize, cx: f64, cy: f64, side_x: f64, side_y: f64, rgb: [u8; 3], alpha: u8) {
    let x0 = (cx - side_x / 2.0).floor().max(0.0) as usize;
    let y0 = (cy - side_y / 2.0).floor().max(0.0) as usize;
    let x1 = ((cx + side_x / 2.0).ceil() as isize).clamp(0, width as isize) as usize;
    let y1 = ((cy + side_y / 2.0).ceil() as isize).clamp(0, height as isize) as usize;
    for y in y0..y1 {
        for x in x0..x1 {
            let at = (y * width + x) * 4;
            pixels[at..at + 4].copy_from_slice(&[rgb[0], rgb[1], rgb[2], alpha]);
        }
    }
}

fn draw_top(ctx: &CanvasRenderingContext2d, view: &MapView, table: &EmbeddingTable, top: &[Hit]) {
    ctx.set_stroke_style_str("#000");
    ctx.set_line_width(1.5);
    ctx.set_fill_style_str("#000");
    ctx.set_font("11px sans-serif");
    for (rank, hit) in top.iter().take(10).filter(|hit| hit.index < table.len()).enumerate() {
        let (x, y) = view.to_screen(f64::from(table.lat[hit.index]), f64::from(table.lon[hit.index]));
        ctx.begin_path();
        let _ = ctx.arc(x, y, 6.0, 0.0, std::f64::consts::TAU);
        ctx.stroke();
        let _ = ctx.fill_text(&(rank + 1).to_string(), x + 7.0, y - 7.0);
    }
}
