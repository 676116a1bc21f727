//! Sentinel-2 band stacks for SatCLIP's image encoder, read from GeoTIFF files with the `tiff`
//! crate: 13 bands (Level-1C order, B01 to B12 with B8A after B08) or 12 bands (Level-2A, which
//! has no B10).

use std::io::Cursor;

use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::{PlanarConfiguration, Tag};

use super::preprocess::{B10_INDEX, ImageError, MAX_SIDE, SENTINEL2_BANDS};

/// Sentinel-2 digital numbers, band-major `[13, height, width]` in [`SENTINEL2_BANDS`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct BandStack {
    pub height: usize,
    pub width: usize,
    pub digital_numbers: Vec<u16>,
}

fn invalid(reason: impl std::fmt::Display) -> ImageError {
    ImageError::Unsupported(format!("not a Sentinel-2 GeoTIFF that can be read: {reason}. Use a 12- or 13-band, 16-bit, pixel-interleaved GeoTIFF"))
}

/// Decodes a 12- or 13-band 16-bit GeoTIFF whose bands are in Sentinel-2 order. A 12-band
/// file gets a zero B10, which SatCLIP's recipe zeroes anyway.
pub fn decode_sentinel2_tiff(bytes: &[u8]) -> Result<BandStack, ImageError> {
    let mut decoder = Decoder::new(Cursor::new(bytes)).map_err(invalid)?;
    let (width, height) = decoder.dimensions().map_err(invalid)?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(ImageError::TooLarge { width, height, max: MAX_SIDE });
    }
    if width == 0 || height == 0 {
        return Err(ImageError::Empty);
    }
    let planar = decoder.find_tag_unsigned::<u16>(Tag::PlanarConfiguration).map_err(invalid)?;
    if planar == Some(PlanarConfiguration::Planar.to_u16()) {
        // The decoder reads only the first plane of a band-separated file.
        return Err(invalid("the bands are stored as separate planes (rewrite it with gdal_translate -co INTERLEAVE=PIXEL)"));
    }
    let samples = match decoder.colortype().map_err(invalid)? {
        tiff::ColorType::Multiband { bit_depth: 16, num_samples } => usize::from(num_samples),
        other => return Err(invalid(format!("its pixels are {other:?}, not 16-bit bands"))),
    };
    if samples != 12 && samples != 13 {
        return Err(invalid(format!("it has {samples} bands")));
    }
    let DecodingResult::U16(interleaved) = decoder.read_image().map_err(invalid)? else {
        return Err(invalid("its samples are not unsigned 16-bit"));
    };
    let (height, width) = (height as usize, width as usize);
    let plane = height * width;
    if interleaved.len() != plane * samples {
        return Err(invalid(format!("it holds {} samples, expected {}", interleaved.len(), plane * samples)));
    }

    let mut digital_numbers = vec![0u16; SENTINEL2_BANDS.len() * plane];
    for band in 0..samples {
        // In a 12-band file, bands from B10 on sit one position earlier.
        let target = if samples == 12 && band >= B10_INDEX { band + 1 } else { band };
        for pixel in 0..plane {
            digital_numbers[target * plane + pixel] = interleaved[pixel * samples + band];
        }
    }
    Ok(BandStack { height, width, digital_numbers })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHIP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/preprocess/s2_chip.tif");

    /// Twelve 16-bit bands per pixel, as a Level-2A export has.
    struct TwelveBands;
    impl tiff::encoder::colortype::ColorType for TwelveBands {
        type Inner = u16;
        const TIFF_VALUE: tiff::tags::PhotometricInterpretation = tiff::tags::PhotometricInterpretation::BlackIsZero;
        const BITS_PER_SAMPLE: &'static [u16] = &[16; 12];
        const SAMPLE_FORMAT: &'static [tiff::tags::SampleFormat] = &[tiff::tags::SampleFormat::Uint; 12];

        fn horizontal_predict(_row: &[u16], _result: &mut Vec<u16>) {
            unreachable!("the test writes without a predictor")
        }
    }

    /// Writes a 12-band, pixel-interleaved, uncompressed TIFF.
    fn encode_twelve_bands(interleaved: &[u16], width: u32, height: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut encoder = tiff::encoder::TiffEncoder::new(&mut out).unwrap();
        encoder.write_image::<TwelveBands>(width, height, interleaved).unwrap();
        out.into_inner()
    }

    #[test]
    fn twelve_bands_get_zero_b10() {
        let full = decode_sentinel2_tiff(&std::fs::read(CHIP).unwrap()).unwrap();
        let plane = full.height * full.width;
        // The same chip without B10, pixel-interleaved.
        let mut interleaved = Vec::with_capacity(plane * 12);
        for pixel in 0..plane {
            for band in (0..13).filter(|&b| b != B10_INDEX) {
                interleaved.push(full.digital_numbers[band * plane + pixel]);
            }
        }
        let twelve = decode_sentinel2_tiff(&encode_twelve_bands(&interleaved, full.width as u32, full.height as u32)).unwrap();
        for band in 0..13 {
            let expected: Vec<u16> = if band == B10_INDEX { vec![0; plane] } else { full.digital_numbers[band * plane..(band + 1) * plane].to_vec() };
            assert_eq!(twelve.digital_numbers[band * plane..(band + 1) * plane], expected[..], "band {}", SENTINEL2_BANDS[band]);
        }
    }

    #[test]
    fn real_chip_has_thirteen_bands() {
        let stack = decode_sentinel2_tiff(&std::fs::read(CHIP).unwrap()).unwrap();
        assert_eq!((stack.height, stack.width), (60, 60));
        assert_eq!(stack.digital_numbers.len(), 13 * 60 * 60);
        // The values tifffile wrote into the chip for the preprocessing fixture (`chip_dn`).
        let fixture = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/preprocess/satclip.safetensors")).unwrap();
        let tensors = safetensors::SafeTensors::deserialize(&fixture).unwrap();
        let chip = tensors.tensor("chip_dn").unwrap();
        assert_eq!(chip.shape(), [13, 60, 60]);
        let expected: Vec<u16> = chip.data().chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect();
        assert_eq!(stack.digital_numbers, expected);
    }

    #[test]
    fn rgb_and_garbage_are_rejected() {
        let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/preprocess/s2_rgb_chip.png")).unwrap();
        let error = decode_sentinel2_tiff(&png).unwrap_err();
        assert!(error.to_string().contains("12- or 13-band"), "{error}");
        let error = decode_sentinel2_tiff(b"II*\0garbage").unwrap_err();
        assert!(error.to_string().contains("12- or 13-band"), "{error}");
    }
}
