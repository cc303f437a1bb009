//! A dependency-free PNG line chart for training curves.
//!
//! The trainer needs one picture (reward or accuracy per step, trained run against control), so
//! this draws lines on an RGB canvas and encodes it as PNG with stored (uncompressed) deflate
//! blocks: a few dozen lines instead of a plotting stack. Axes frame the plot, light grid lines
//! mark quarters of the y range, and each series is a coloured polyline over the steps.

/// One curve: y values at steps 1, 2, … and an RGB colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The values, one per step.
    pub points: Vec<f64>,
    /// The line colour.
    pub color: [u8; 3],
}

struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64, color: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let i = (y as usize * self.width + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&color);
        }
    }

    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), color: [u8; 3], thick: i64) {
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = ((x0 + t * (x1 - x0)).round() as i64, (y0 + t * (y1 - y0)).round() as i64);
            for dx in -thick / 2..=thick / 2 {
                for dy in -thick / 2..=thick / 2 {
                    self.set(x + dx, y + dy, color);
                }
            }
        }
    }
}

/// A `width × height` PNG of the series between `y_min` and `y_max` (values outside are clamped).
pub fn line_chart(series: &[Series], y_min: f64, y_max: f64, width: usize, height: usize) -> Vec<u8> {
    let mut canvas = Canvas { width, height, pixels: vec![255; width * height * 3] };
    let (left, right, top, bottom) = (40.0, width as f64 - 20.0, 20.0, height as f64 - 30.0);
    let span = if y_max > y_min { y_max - y_min } else { 1.0 };
    for q in 0..=4 {
        let y = bottom - (bottom - top) * q as f64 / 4.0;
        canvas.line((left, y), (right, y), [225, 225, 225], 1);
    }
    canvas.line((left, top), (left, bottom), [0, 0, 0], 1);
    canvas.line((left, bottom), (right, bottom), [0, 0, 0], 1);
    let steps = series.iter().map(|s| s.points.len()).max().unwrap_or(0);
    for s in series {
        let to_xy = |i: usize, v: f64| {
            let x = left + (right - left) * if steps > 1 { i as f64 / (steps - 1) as f64 } else { 0.5 };
            let v = if v.is_finite() { v.clamp(y_min, y_min + span) } else { y_min };
            (x, bottom - (bottom - top) * (v - y_min) / span)
        };
        for (i, pair) in s.points.windows(2).enumerate() {
            canvas.line(to_xy(i, pair[0]), to_xy(i + 1, pair[1]), s.color, 3);
        }
        if s.points.len() == 1 {
            let p = to_xy(0, s.points[0]);
            canvas.line(p, p, s.color, 5);
        }
    }
    encode_png(&canvas.pixels, width, height)
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Encodes 8-bit RGB pixels as a PNG (filter 0 on every row, stored deflate blocks). A chart
/// has a handful of colours, so up to 16 are written as a 4-bit palette image (6× smaller than RGB).
pub fn encode_png(rgb: &[u8], width: usize, height: usize) -> Vec<u8> {
    let mut palette: Vec<[u8; 3]> = Vec::new();
    for px in rgb.chunks(3) {
        let c = [px[0], px[1], px[2]];
        if !palette.contains(&c) {
            palette.push(c);
            if palette.len() > 16 {
                break;
            }
        }
    }
    let indexed = palette.len() <= 16;
    let mut raw = Vec::new();
    for row in rgb.chunks(width * 3) {
        raw.push(0);
        if indexed {
            let idx: Vec<u8> =
                row.chunks(3).map(|p| palette.iter().position(|c| c[..] == p[..]).unwrap_or(0) as u8).collect();
            raw.extend(idx.chunks(2).map(|pair| (pair[0] << 4) | pair.get(1).copied().unwrap_or(0)));
        } else {
            raw.extend_from_slice(row);
        }
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        zlib.push((i + 1 == blocks.len()) as u8);
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&(width as u32).to_be_bytes());
    header.extend_from_slice(&(height as u32).to_be_bytes());
    header.extend_from_slice(if indexed { &[4, 3, 0, 0, 0] } else { &[8, 2, 0, 0, 0] });
    chunk(&mut png, b"IHDR", &header);
    if indexed {
        chunk(&mut png, b"PLTE", &palette.concat());
    }
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values_and_png_is_well_formed() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let png = line_chart(&[Series { points: vec![0.2, 0.9, 0.5], color: [255, 0, 0] }], 0.0, 1.0, 300, 200);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
        // Four colours (white, grid, axes, line): a 4-bit palette image, 200 rows of 1 + 150
        // bytes in one stored block, plus framing.
        assert_eq!(png.len(), 8 + 25 + (12 + 4 * 3) + (12 + 2 + 200 * 151 + 5 + 4) + 12);
        let mut many = Vec::new();
        for i in 0..20u8 {
            many.extend_from_slice(&[i, i, i]);
        }
        assert_eq!(encode_png(&many, 20, 1).len(), 8 + 25 + (12 + 2 + 61 + 5 + 4) + 12, "RGB beyond 16 colours");
    }
}
