//! Reading tokenizer files: tokenizer.json (bounded in size), tokenizer_config.json's settings,
//! and the added and special tokens every class registers.

use super::*;

/// tokenizer.json's `model`, which must be of type `kind`.
pub(super) fn json_model<'a>(json: &'a Value, kind: &str, path: &Path) -> Result<&'a serde_json::Map<String, Value>> {
    let model = json.get("model").and_then(Value::as_object).ok_or_else(|| Error::tokenizer(path, "tokenizer.json has no model"))?;
    match model.get("type").and_then(Value::as_str) {
        Some(t) if t == kind => Ok(model),
        other => Err(Error::tokenizer(
            path,
            format!("tokenizer.json's model is {}, but this tokenizer class is built on {kind}", other.unwrap_or("unnamed")),
        )),
    }
}

pub(super) fn read_tokenizer_json(path: &Path) -> Result<Value> {
    let size = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if size > MAX_TOKENIZER_JSON_BYTES {
        return Err(Error::tokenizer(path, format!("tokenizer.json is {size} bytes; at most {MAX_TOKENIZER_JSON_BYTES} are read")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::tokenizer(path, format!("not a valid tokenizer.json: {e}")))
}

/// The added tokens, as transformers v5 adds them: WordPiece gets its five special tokens (whole
/// units, never normalized). The other classes get tokenizer_config.json's `added_tokens_decoder`
/// if it has one, else tokenizer.json's `added_tokens`, with their own stripping rules (RoBERTa's
/// `<mask>` takes the space before it), then any named special token not yet among them.
pub(super) fn add_tokens(
    tokenizer: &mut Tokenizer,
    kind: TokenizerKind,
    settings: &TokenizerSettings,
    config: Option<&serde_json::Map<String, Value>>,
    json: Option<&Value>,
    label: &Path,
) -> Result<()> {
    let mut added: Vec<(u64, AddedToken)> = Vec::new();
    if kind != TokenizerKind::WordPiece {
        let serialized: Vec<(u64, &Value)> = match config.and_then(|m| m.get("added_tokens_decoder")).and_then(Value::as_object) {
            Some(decoder) => decoder.iter().map(|(id, token)| (id.parse().unwrap_or(u64::MAX), token)).collect(),
            None => json
                .and_then(|j| j.get("added_tokens"))
                .and_then(Value::as_array)
                .map(|tokens| tokens.iter().map(|t| (t.get("id").and_then(Value::as_u64).unwrap_or(u64::MAX), t)).collect())
                .unwrap_or_default(),
        };
        for (id, token) in serialized {
            let flag = |key: &str, default: bool| token.get(key).and_then(Value::as_bool).unwrap_or(default);
            let content = token_content(token).ok_or_else(|| Error::tokenizer(label, format!("an added token has no content: {token}")))?;
            let special = flag("special", false);
            let mut t = AddedToken::from(content, special);
            t.single_word = flag("single_word", false);
            t.lstrip = flag("lstrip", false);
            t.rstrip = flag("rstrip", false);
            t.normalized = flag("normalized", !special);
            added.push((id, t));
        }
        added.sort_by_key(|(id, _)| *id);
    }
    let named = [
        &settings.pad_token,
        &settings.unk_token,
        &settings.cls_token,
        &settings.sep_token,
        &settings.mask_token,
        &settings.bos_token,
        &settings.eos_token,
    ];
    // BertTokenizer has no bos/eos of its own.
    let named = if kind == TokenizerKind::WordPiece { &named[..5] } else { &named[..] };
    for &name in named {
        if !added.iter().any(|(_, t)| &t.content == name) {
            added.push((u64::MAX, AddedToken::from(name.clone(), true)));
        }
    }
    for (_, token) in added {
        let content = token.content.clone();
        let result = if token.special { tokenizer.add_special_tokens([token]) } else { tokenizer.add_tokens([token]) };
        result.map_err(|e| Error::tokenizer(label, format!("cannot add the token {content}: {e}")))?;
    }
    Ok(())
}

/// A special token may be written as a string or as a serialized AddedToken object.
pub(super) fn token_content(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => map.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

pub(super) fn read_json_object(path: &Path) -> Result<serde_json::Map<String, Value>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    match serde_json::from_str(&text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::tokenizer(path, "expected a JSON object")),
        Err(e) => Err(Error::tokenizer(path, format!("not valid JSON: {e}"))),
    }
}

pub(super) fn read_settings(s: &mut TokenizerSettings, map: &serde_json::Map<String, Value>, path: &Path) -> Result<()> {
    let flag = |key: &str| -> Result<Option<bool>> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Error::tokenizer(path, format!("{key} must be true, false or null, not {other}"))),
        }
    };
    if s.kind.has_accent_setting() {
        if let Some(v) = flag("do_lower_case")? {
            s.do_lower_case = v;
        }
        s.strip_accents = flag("strip_accents")?;
        if let Some(v) = flag("tokenize_chinese_chars")? {
            s.tokenize_chinese_chars = v;
        }
    } else {
        if let Some(v) = flag("add_prefix_space")? {
            s.add_prefix_space = v;
        }
        if let Some(v) = flag("trim_offsets")? {
            s.trim_offsets = v;
        }
    }
    // transformers treats an absurdly large model_max_length (its "unset" sentinel) as unset.
    s.model_max_length = ["model_max_length", "max_len"]
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_f64))
        .filter(|v| (1.0..1e12).contains(v))
        .map(|v| v as usize);
    apply_special_tokens(s, map);
    Ok(())
}
