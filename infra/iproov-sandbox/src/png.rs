//! A minimal PNG encoder for the sandbox's "captured face" frames.
//!
//! The project stores whatever image validate returns, so the sandbox must return a *real*
//! image that any decoder accepts, not random bytes. A PNG needs only three checksums and a zlib
//! stream; zlib allows "stored" (uncompressed) deflate blocks, so no compressor is required.
//! Layout written here (PNG spec §5, RFC 1950, RFC 1951 §3.2.4):
//!
//! ```text
//! signature | IHDR (8-bit RGB) | IDAT (zlib: 78 01, stored blocks, Adler-32) | IEND
//! each chunk: length (u32 BE) | type | data | CRC-32 of type + data
//! ```

/// The eight bytes every PNG starts with.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Largest payload of one stored deflate block.
const STORED_BLOCK_MAX: usize = 0xFFFF;

/// CRC-32 (ISO-HDLC, the one PNG and zlib's `crc32` use), table built at compile time.
const CRC_TABLE: [u32; 256] = crc_table();

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            bit += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
}

/// CRC-32 of the concatenation of `parts`.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for part in parts {
        for &byte in *part {
            crc = CRC_TABLE[((crc ^ u32::from(byte)) & 0xFF) as usize] ^ (crc >> 8);
        }
    }
    crc ^ 0xFFFF_FFFF
}

/// Adler-32, zlib's trailer checksum.
pub fn adler32(data: &[u8]) -> u32 {
    const MODULUS: u32 = 65_521;
    // 5552 is the longest run for which the sums cannot overflow a u32 (zlib's NMAX).
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MODULUS;
        b %= MODULUS;
    }
    (b << 16) | a
}

/// Wraps `data` in a zlib stream of stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    // CMF 0x78: deflate, 32 KiB window. FLG 0x01: no dictionary, lowest level, and
    // 0x7801 is a multiple of 31 as the header check requires.
    let mut out = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(STORED_BLOCK_MAX).collect()
    };
    let last = blocks.len() - 1;
    for (index, block) in blocks.iter().enumerate() {
        // BFINAL in bit 0, BTYPE 00 (stored); the rest of the byte is padding.
        out.push(u8::from(index == last));
        // Each block holds at most 0xFFFF bytes, so the length fits a u16.
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn push_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    // Chunks written here are far below 2^31 bytes (the frame is at most 64 KiB × 64 KiB
    // pixels only in theory; the sandbox asks for 64 × 64).
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// Encodes an 8-bit RGB image given as a pixel function.
fn encode_rgb(width: u16, height: u16, pixel: impl Fn(u16, u16) -> [u8; 3]) -> Vec<u8> {
    let (width, height) = (width.max(1), height.max(1));
    let row_len = 1 + 3 * usize::from(width);
    let mut raw = Vec::with_capacity(row_len * usize::from(height));
    for y in 0..height {
        raw.push(0); // filter type 0: the row as is
        for x in 0..width {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&u32::from(width).to_be_bytes());
    header.extend_from_slice(&u32::from(height).to_be_bytes());
    // bit depth 8, colour type 2 (RGB), compression 0, filter 0, no interlace
    header.extend_from_slice(&[8, 2, 0, 0, 0]);

    let mut png = SIGNATURE.to_vec();
    push_chunk(&mut png, b"IHDR", &header);
    push_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    push_chunk(&mut png, b"IEND", &[]);
    png
}

/// A colour gradient; `seed` shifts the colours so different claims get different images
/// (a test can then tell whose frame was stored). Zero dimensions are raised to 1.
pub fn gradient(width: u16, height: u16, seed: [u8; 3]) -> Vec<u8> {
    let scale = |value: u16, size: u16| -> u8 {
        let scaled = u32::from(value) * 255 / u32::from(size.max(2) - 1);
        u8::try_from(scaled).unwrap_or(u8::MAX)
    };
    encode_rgb(width, height, |x, y| {
        let (r, g) = (scale(x, width), scale(y, height));
        [
            r ^ seed[0],
            g ^ seed[1],
            (r / 2).wrapping_add(g / 2) ^ seed[2],
        ]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        // Reference values from zlib's crc32() and adler32().
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[b"1234", b"56789"]), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
    }

    #[test]
    fn the_iend_chunk_has_its_well_known_crc() {
        let png = gradient(2, 2, [0; 3]);
        assert_eq!(
            &png[png.len() - 12..],
            &[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]
        );
    }

    #[test]
    fn large_data_is_split_into_stored_blocks() {
        let data = vec![7u8; STORED_BLOCK_MAX + 10];
        let stream = zlib_stored(&data);
        assert_eq!(stream[2], 0, "first block is not final");
        let second = 2 + 5 + STORED_BLOCK_MAX;
        assert_eq!(stream[second], 1, "second block is final");
        assert_eq!(stream.len(), 2 + 5 + STORED_BLOCK_MAX + 5 + 10 + 4);
    }
}
