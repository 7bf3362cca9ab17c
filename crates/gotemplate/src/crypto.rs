//! Sprig's `decryptAES`: AES-256-CBC, the key the password's bytes in 32 zero bytes,
//! the IV the first block of the base64 text, PKCS#7 padding removed without checking
//! it, as Sprig's `crypto.go` does. Where Sprig's Go panics on short or ragged input,
//! the message is the panic's, as `text/template` reports it.

use aes::Aes256;
use aes::cipher::{BlockDecrypt, KeyInit, generic_array::GenericArray};

use super::funcs::FnError;

const BLOCK: usize = 16;

/// Decrypts `crypt64` with `password`.
pub(crate) fn decrypt_aes(password: &str, crypt64: &str) -> Result<String, FnError> {
    if crypt64.is_empty() {
        return Ok(String::new());
    }
    let mut key = [0u8; 32];
    let pw = password.as_bytes();
    let n = pw.len().min(32);
    key[..n].copy_from_slice(&pw[..n]);
    let crypt = super::funcs::b64_decode_go(crypt64)?;
    if crypt.len() < BLOCK {
        // The capacity Go's DecodeString allocated: DecodedLen of the text.
        return Err(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt64.len() / 4 * 3
        )
        .into());
    }
    let (iv, body) = crypt.split_at(BLOCK);
    if body.len() % BLOCK != 0 {
        return Err("crypto/cipher: input not full blocks".into());
    }
    let cipher = Aes256::new(GenericArray::from_slice(&key));
    let mut prev: [u8; BLOCK] = iv.try_into().unwrap_or([0; BLOCK]);
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks_exact(BLOCK) {
        let mut block = GenericArray::clone_from_slice(chunk);
        cipher.decrypt_block(&mut block);
        for (b, p) in block.iter_mut().zip(prev) {
            *b ^= p;
        }
        out.extend_from_slice(&block);
        prev.copy_from_slice(chunk);
    }
    let Some(&pad) = out.last() else {
        return Err("runtime error: index out of range [-1]".into());
    };
    let end = out.len() as i64 - i64::from(pad);
    if end < 0 {
        return Err(format!("runtime error: slice bounds out of range [:{end}]").into());
    }
    Ok(super::sprig::go_lossy(&out[..end as usize]))
}
