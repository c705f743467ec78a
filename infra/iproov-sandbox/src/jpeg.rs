//! A tiny baseline JPEG, built from first principles, for the `frame_jpeg` field.
//!
//! Encoding a real photo would need a DCT and Huffman coding; a *uniform* image needs neither.
//! Every 8×8 block of a flat mid-grey picture has all DCT coefficients zero (the level shift of
//! ITU T.81 §A.3.1 maps sample 128 to 0), so each block's entropy-coded data is just
//! "DC difference category 0" followed by "end of block". With Huffman tables that give each of
//! those one symbol the one-bit code `0`, a block costs two bits. The file is then:
//!
//! ```text
//! SOI | APP0 JFIF 1.01 | DQT (table 0, all ones) | SOF0 (8-bit, 1 component, 1×1 sampling)
//!     | DHT DC 0: one code of length 1 → category 0 | DHT AC 0: one code of length 1 → EOB
//!     | SOS (component 1, tables 0/0, Ss=0 Se=63 Ah=Al=0) | 2 zero bits per block, padded
//!     with 1-bits to a byte (§F.1.2.3) | EOI
//! ```
//!
//! The entropy data never contains a 0xFF byte (it is all zero bits plus at most seven 1-bits
//! of padding), so no byte stuffing is needed. Decoders (libjpeg, browsers) read it as a flat
//! grey image of the requested size.

const SOI: [u8; 2] = [0xFF, 0xD8];
const EOI: [u8; 2] = [0xFF, 0xD9];

fn push_segment(out: &mut Vec<u8>, marker: u8, payload: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    // The length field counts itself; every payload here is well under 64 KiB.
    let len = u16::try_from(payload.len() + 2).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
}

/// A Huffman table (class `0` = DC, `1` = AC; id 0) with a single symbol coded as `0`.
fn single_symbol_huffman_table(class: u8, symbol: u8) -> Vec<u8> {
    let mut table = vec![class << 4];
    let mut counts = [0u8; 16];
    counts[0] = 1; // one code of length 1
    table.extend_from_slice(&counts);
    table.push(symbol);
    table
}

/// A flat mid-grey baseline JPEG of the given size (zero dimensions are raised to 1).
pub fn uniform_gray(width: u16, height: u16) -> Vec<u8> {
    let (width, height) = (width.max(1), height.max(1));
    let mut out = SOI.to_vec();

    // JFIF 1.01, no units, 1:1 pixel aspect, no thumbnail.
    push_segment(
        &mut out,
        0xE0,
        &[b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0],
    );

    // Quantisation table 0, 8-bit precision, every step 1 (the coefficients are zero anyway).
    let mut dqt = vec![0x00];
    dqt.extend_from_slice(&[1u8; 64]);
    push_segment(&mut out, 0xDB, &dqt);

    // Baseline frame: 8-bit samples, one component (id 1, 1×1 sampling, quantisation table 0).
    let mut sof = vec![8];
    sof.extend_from_slice(&height.to_be_bytes());
    sof.extend_from_slice(&width.to_be_bytes());
    sof.extend_from_slice(&[1, 1, 0x11, 0]);
    push_segment(&mut out, 0xC0, &sof);

    push_segment(&mut out, 0xC4, &single_symbol_huffman_table(0, 0x00));
    push_segment(&mut out, 0xC4, &single_symbol_huffman_table(1, 0x00));

    // Scan: one component, DC table 0 / AC table 0, full spectral range, no approximation.
    push_segment(&mut out, 0xDA, &[1, 1, 0x00, 0, 63, 0]);

    let blocks = usize::from(width.div_ceil(8)) * usize::from(height.div_ceil(8));
    let bits = 2 * blocks;
    out.extend(std::iter::repeat_n(0u8, bits / 8));
    let leftover = bits % 8;
    if leftover != 0 {
        // The remaining zero bits, then 1-bits up to the byte boundary.
        out.push(0xFFu8 >> leftover);
    }

    out.extend_from_slice(&EOI);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_framed_by_soi_and_eoi_and_pads_with_ones() {
        let jpeg = uniform_gray(8, 8);
        assert_eq!(&jpeg[..2], &SOI);
        assert_eq!(&jpeg[jpeg.len() - 2..], &EOI);
        // One block: two zero bits then six 1-bits of padding.
        assert_eq!(jpeg[jpeg.len() - 3], 0b0011_1111);
    }

    #[test]
    fn entropy_data_grows_with_the_block_count() {
        // 64×64 = 64 blocks = 128 bits = 16 bytes, no padding.
        let small = uniform_gray(8, 8).len();
        let large = uniform_gray(64, 64).len();
        assert_eq!(large - small, 16 - 1);
    }
}
