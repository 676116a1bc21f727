//! Image preprocessing for the image towers, reproducing the reference pipelines exactly:
//! Pillow's bicubic resampling (as used by torchvision `Resize` on PIL images and by the Pillow
//! image processors of transformers 5, such as `SiglipImageProcessorPil`), centre crops,
//! rescaling and normalisation.
//!
//! Pillow resamples 8-bit images in two separable passes, horizontal first, with fixed-point
//! coefficients (22 fractional bits) and rounding to 8 bits after each pass. The filter support
//! grows with the reduction factor, which is what antialiases a downscale. Matching that
//! arithmetic gives byte-identical resized images, so differences cannot start here.

use image::ImageReader;

/// Errors from reading an image. Each names what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImageError {
    #[error("the image could not be read ({0}): use a PNG or JPEG file")]
    Unsupported(String),
    #[error("the image is {width} × {height} pixels; the largest accepted side is {max} pixels, so crop or scale it first")]
    TooLarge { width: u32, height: u32, max: u32 },
    #[error("the image is empty (0 pixels)")]
    Empty,
}

/// Largest accepted image side, so a decoded image stays well inside wasm32 memory.
pub const MAX_SIDE: u32 = 12_000;

/// An 8-bit RGB image, rows top to bottom, pixels interleaved.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb8 {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// Decodes PNG or JPEG bytes to RGB. Alpha is dropped and palettes expanded, as Pillow's
/// `convert("RGB")` does.
pub fn decode_image(bytes: &[u8]) -> Result<Rgb8, ImageError> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| ImageError::Unsupported(e.to_string()))?;
    let (width, height) = reader.into_dimensions().map_err(|e| ImageError::Unsupported(e.to_string()))?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageError::TooLarge { width, height, max: MAX_SIDE });
    }
    if width == 0 || height == 0 {
        return Err(ImageError::Empty);
    }
    let reader = ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(|e| ImageError::Unsupported(e.to_string()))?;
    let decoded = reader.decode().map_err(|e| ImageError::Unsupported(e.to_string()))?.to_rgb8();
    Ok(Rgb8 { width: width as usize, height: height as usize, data: decoded.into_raw() })
}

/// Pillow's bicubic kernel (a = −0.5).
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Fractional bits of Pillow's fixed-point coefficients for 8-bit images.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// First source index and fixed-point weights of every output sample along one axis, computed
/// as Pillow's `precompute_coeffs` and `normalize_coeffs_8bpc` do.
fn coefficients(input: usize, output: usize) -> Vec<(usize, Vec<i32>)> {
    let scale = input as f64 / output as f64;
    let filter_scale = scale.max(1.0);
    let support = 2.0 * filter_scale;
    (0..output)
        .map(|o| {
            let centre = (o as f64 + 0.5) * scale;
            let first = ((centre - support + 0.5) as i64).max(0) as usize;
            let last = ((centre + support + 0.5) as i64).min(input as i64) as usize;
            let weights: Vec<f64> = (first..last).map(|x| bicubic((x as f64 - centre + 0.5) / filter_scale)).collect();
            let total: f64 = weights.iter().sum();
            let fixed = weights
                .iter()
                .map(|&w| {
                    let w = if total != 0.0 { w / total } else { w };
                    let scaled = w * f64::from(1u32 << PRECISION_BITS);
                    if w < 0.0 { (scaled - 0.5) as i32 } else { (scaled + 0.5) as i32 }
                })
                .collect();
            (first, fixed)
        })
        .collect()
}

/// Rounds a fixed-point sum to a byte, as Pillow's `clip8`.
fn clip8(sum: i64) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Resizes with Pillow's `Image.resize(size, Image.BICUBIC)` arithmetic: a horizontal pass,
/// then a vertical one, each rounded to 8 bits. A pass whose size is unchanged is skipped.
pub fn resize_bicubic(image: &Rgb8, width: usize, height: usize) -> Rgb8 {
    let mut current = image.clone();
    if width != current.width {
        let taps = coefficients(current.width, width);
        let mut data = vec![0u8; width * current.height * 3];
        for y in 0..current.height {
            let row = &current.data[y * current.width * 3..(y + 1) * current.width * 3];
            for (x, (first, weights)) in taps.iter().enumerate() {
                for c in 0..3 {
                    let mut sum: i64 = 1 << (PRECISION_BITS - 1);
                    for (k, &w) in weights.iter().enumerate() {
                        sum += i64::from(row[(first + k) * 3 + c]) * i64::from(w);
                    }
                    data[(y * width + x) * 3 + c] = clip8(sum);
                }
            }
        }
        current = Rgb8 { width, height: current.height, data };
    }
    if height != current.height {
        let taps = coefficients(current.height, height);
        let mut data = vec![0u8; width * height * 3];
        for (y, (first, weights)) in taps.iter().enumerate() {
            for x in 0..width {
                for c in 0..3 {
                    let mut sum: i64 = 1 << (PRECISION_BITS - 1);
                    for (k, &w) in weights.iter().enumerate() {
                        sum += i64::from(current.data[((first + k) * width + x) * 3 + c]) * i64::from(w);
                    }
                    data[(y * width + x) * 3 + c] = clip8(sum);
                }
            }
        }
        current = Rgb8 { width, height, data };
    }
    current
}

/// Size after scaling the shorter side to `target`, the longer side truncated as torchvision
/// and transformers compute it: `int(target · long / short)`.
pub fn shortest_side_size(width: usize, height: usize, target: usize) -> (usize, usize) {
    if width <= height {
        (target, (target as f64 * height as f64 / width as f64) as usize)
    } else {
        ((target as f64 * width as f64 / height as f64) as usize, target)
    }
}

/// Rounding of an odd centre-crop margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CropRounding {
    /// torchvision `CenterCrop`: `int(round(margin / 2))`, rounding halves to even.
    RoundHalfEven,
    /// transformers `center_crop`: `margin // 2`.
    Floor,
}

/// Cuts the centred `size × size` square; the image must be at least that large.
pub fn centre_crop(image: &Rgb8, size: usize, rounding: CropRounding) -> Rgb8 {
    let offset = |margin: usize| match rounding {
        CropRounding::Floor => margin / 2,
        CropRounding::RoundHalfEven => {
            let half = margin / 2;
            // margin/2 ends in .5 exactly when the margin is odd; Python rounds to the even one.
            if margin % 2 == 1 && half % 2 == 1 { half + 1 } else { half }
        }
    };
    let (left, top) = (offset(image.width - size), offset(image.height - size));
    let mut data = Vec::with_capacity(size * size * 3);
    for y in top..top + size {
        data.extend_from_slice(&image.data[(y * image.width + left) * 3..(y * image.width + left + size) * 3]);
    }
    Rgb8 { width: size, height: size, data }
}

/// The per-model recipe, as model cards store it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Pipeline {
    pub resize: Resize,
    pub crop: Option<(usize, CropRounding)>,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// Scale the shorter side to this length, keeping the aspect ratio.
    ShortestSide(usize),
    /// Scale to exactly this square, ignoring the aspect ratio.
    Squash(usize),
}

pub const OPENAI_MEAN: [f32; 3] = [0.481_454_66, 0.457_827_5, 0.408_210_73];
pub const OPENAI_STD: [f32; 3] = [0.268_629_54, 0.261_302_6, 0.275_777_1];
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

impl Pipeline {
    /// open_clip ViT-B/16 evaluation transform (FarSLIP): shorter side to 224, torchvision
    /// centre crop 224, OpenAI mean and std.
    pub fn open_clip_224() -> Self {
        Pipeline { resize: Resize::ShortestSide(224), crop: Some((224, CropRounding::RoundHalfEven)), mean: OPENAI_MEAN, std: OPENAI_STD }
    }

    /// transformers `SiglipImageProcessorPil` for so400m/14@384 (and open_clip's `webli`
    /// settings): squash to 384, mean and std 0.5.
    pub fn siglip_384() -> Self {
        Pipeline { resize: Resize::Squash(384), crop: None, mean: [0.5; 3], std: [0.5; 3] }
    }

    /// open_clip's default evaluation transform at 384 px: shorter side to 384, torchvision
    /// centre crop, OpenAI mean and std. open_clip 3.3.0 falls back to it when `pretrained` is a
    /// file path, as in EarthEmbeddingExplorer's SigLIP query code.
    pub fn open_clip_384() -> Self {
        Pipeline { resize: Resize::ShortestSide(384), crop: Some((384, CropRounding::RoundHalfEven)), mean: OPENAI_MEAN, std: OPENAI_STD }
    }

    /// transformers `BitImageProcessorPil` as configured for DINOv2: shorter side to 256, centre
    /// crop 224, ImageNet mean and std.
    pub fn dinov2_224() -> Self {
        Pipeline { resize: Resize::ShortestSide(256), crop: Some((224, CropRounding::Floor)), mean: IMAGENET_MEAN, std: IMAGENET_STD }
    }

    /// Returns the 8-bit image after resizing and cropping.
    pub fn resize_and_crop(&self, image: &Rgb8) -> Rgb8 {
        let (width, height) = match self.resize {
            Resize::ShortestSide(side) => shortest_side_size(image.width, image.height, side),
            Resize::Squash(side) => (side, side),
        };
        let resized = resize_bicubic(image, width, height);
        match self.crop {
            Some((size, rounding)) => centre_crop(&resized, size, rounding),
            None => resized,
        }
    }

    /// Runs the whole recipe; returns channel-major `[3, height, width]` values and the side.
    pub fn run(&self, image: &Rgb8) -> (Vec<f32>, usize) {
        let prepared = self.resize_and_crop(image);
        let pixels = prepared.width * prepared.height;
        let mut out = vec![0.0f32; 3 * pixels];
        for (index, rgb) in prepared.data.chunks_exact(3).enumerate() {
            for c in 0..3 {
                let value = f32::from(rgb[c]) / 255.0;
                out[c * pixels + index] = (value - self.mean[c]) / self.std[c];
            }
        }
        (out, prepared.width)
    }
}

/// Sentinel-2 bands in the order SatCLIP's image encoder takes them.
pub const SENTINEL2_BANDS: [&str; 13] = ["B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12"];
/// Index of B10 (cirrus), which Level-2A products lack; SatCLIP gets zeros there.
pub const B10_INDEX: usize = 10;

/// SatCLIP's input from Sentinel-2 digital numbers given band-major `[13, height, width]` in
/// [`SENTINEL2_BANDS`] order: reflectance = DN / 10⁴, B10 set to zero, then each band resized to
/// `size × size` with PyTorch's bicubic `interpolate` (as EarthEmbeddingExplorer's SatCLIP query
/// code does). Returns `[13, size, size]`.
pub fn satclip_bands(digital_numbers: &[u16], (height, width): (usize, usize), size: usize) -> Vec<f32> {
    let plane = height * width;
    let reflectance: Vec<f32> = digital_numbers
        .iter()
        .enumerate()
        .map(|(i, &dn)| if i / plane == B10_INDEX { 0.0 } else { f32::from(dn) / 10_000.0 })
        .collect();
    super::transformer::bicubic_resize(&reflectance, SENTINEL2_BANDS.len(), (height, width), (size, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_side_truncates() {
        assert_eq!(shortest_side_size(500, 375, 224), (298, 224));
        assert_eq!(shortest_side_size(375, 500, 256), (256, 341));
        assert_eq!(shortest_side_size(224, 224, 224), (224, 224));
    }

    #[test]
    fn crop_rounding_differs_on_odd_margins() {
        let image = Rgb8 { width: 7, height: 7, data: (0..147).map(|v| v as u8).collect() };
        // Margin 3: torchvision rounds 1.5 to 2, transformers floors to 1.
        assert_eq!(centre_crop(&image, 4, CropRounding::RoundHalfEven).data[0], image.data[(2 * 7 + 2) * 3]);
        assert_eq!(centre_crop(&image, 4, CropRounding::Floor).data[0], image.data[(7 + 1) * 3]);
    }

    #[test]
    fn coefficients_sum_to_one() {
        for (input, output) in [(1000, 224), (224, 384), (7, 7), (300, 1)] {
            for (_, weights) in coefficients(input, output) {
                let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
                assert!((total - (1 << PRECISION_BITS)).abs() <= weights.len() as i64, "{input}→{output}: {total}");
            }
        }
    }

    #[test]
    fn constant_image_stays_constant() {
        let image = Rgb8 { width: 33, height: 17, data: vec![77; 33 * 17 * 3] };
        let resized = resize_bicubic(&image, 10, 40);
        assert!(resized.data.iter().all(|&v| v == 77));
    }

    #[test]
    fn bad_bytes_are_rejected() {
        assert!(matches!(decode_image(b"not an image"), Err(ImageError::Unsupported(_))));
        assert!(matches!(decode_image(&[]), Err(ImageError::Unsupported(_))));
    }
}
