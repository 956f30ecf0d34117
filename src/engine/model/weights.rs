//! Reading model weights (model.safetensors or a zip-format pytorch_model.bin) safely.
//!
//! A weights file is checked against config.json *before* any tensor data is read: every tensor
//! the model code will ask for must be present with the right shape, nothing unexpected may be
//! left over, and the file must be large enough to hold what it declares. Only then is data read.
//! This keeps a corrupt or hostile file from causing a huge allocation or a panic, and turns every
//! mismatch into an error that names the file and the tensor.
//!
//! The list of expected tensors is not written down twice: [`expected_tensors`] runs the model's
//! own `load` functions against a backend that records each request and hands back a zero-sized
//! broadcast view, so the manifest is exactly what the model code loads.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;

use crate::error::{Error, Result};

/// The two checkpoint formats the Hub ships for these models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightsFormat {
    Safetensors,
    PytorchBin,
}

impl WeightsFormat {
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("safetensors") => WeightsFormat::Safetensors,
            _ => WeightsFormat::PytorchBin,
        }
    }
}

/// Buffers that older transformers versions saved beside the parameters; transformers ignores
/// them on load, and so do we.
fn is_ignored_buffer(name: &str) -> bool {
    name.ends_with("embeddings.position_ids") || name.ends_with("embeddings.token_type_ids")
}

/// Legacy TF-converted checkpoints name LayerNorm parameters gamma/beta; transformers renames them.
fn canonical_name(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("LayerNorm.gamma") {
        format!("{stem}LayerNorm.weight")
    } else if let Some(stem) = name.strip_suffix("LayerNorm.beta") {
        format!("{stem}LayerNorm.bias")
    } else {
        name.to_string()
    }
}

/// Whether `t` is one of the [`Recorder`]'s views (a broadcast of one zero, holding no data).
/// Constructors that would copy, join or transpose a weight skip that work on such views: the
/// dry run that learns the manifest needs only the names and shapes asked for, and doing the
/// work on zeros cost as much as the real load (half of a cold start, in a profile).
pub fn is_recorded_view(t: &Tensor) -> bool {
    t.elem_count() > 1 && t.stride().iter().all(|&s| s == 0)
}

/// Records what a model's `load` asks for, returning free broadcast views instead of data.
struct Recorder(Arc<Mutex<Manifest>>);

/// Tensor names and shapes, in the order the model code asks for them.
type Manifest = Vec<(String, Vec<usize>)>;

impl SimpleBackend for Recorder {
    fn get(&self, s: Shape, name: &str, _h: candle_nn::Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.0.lock().expect("recorder lock").push((name.to_string(), s.dims().to_vec()));
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("the model code must state the shape of {name}")
    }

    fn contains_tensor(&self, _name: &str) -> bool {
        true
    }
}

/// Every (name, shape) that `load` requests, in request order.
pub fn expected_tensors<T>(load: impl FnOnce(VarBuilder) -> candle_core::Result<T>) -> Result<Vec<(String, Vec<usize>)>> {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let backend: Box<dyn SimpleBackend> = Box::new(Recorder(requests.clone()));
    load(VarBuilder::from_backend(backend, DType::F32, Device::Cpu))?;
    let requests = std::mem::take(&mut *requests.lock().expect("recorder lock"));
    Ok(requests)
}

/// What a weights file says about one tensor, before its data is read.
#[derive(Debug, Clone)]
struct Declared {
    /// The name as stored in the file (before gamma/beta renaming).
    stored_name: String,
    shape: Vec<usize>,
    dtype: DType,
}

/// Opens `path`, validates it against `expected`, and returns the tensors (as f32) in a VarBuilder.
/// `unused` names tensors the file may also hold that the architecture does not use (see
/// [`Architecture::unused_tensors`](super::config::Architecture::unused_tensors)).
pub fn load_checked(path: &Path, expected: &[(String, Vec<usize>)], unused: &[&str]) -> Result<VarBuilder<'static>> {
    let format = WeightsFormat::from_path(path);
    let file_len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    let tensors = match format {
        WeightsFormat::Safetensors => {
            // Only the header is read up front; each tensor is then read straight into its own
            // buffer. The file is neither mapped (`unsafe` if another process truncates it) nor
            // read whole (that held the model in memory twice while converting it).
            let invalid = |what: String| {
                Error::weights(
                    path,
                    format!("not a valid safetensors file ({what}); the download may be truncated or corrupt, delete it and fetch it again"),
                )
            };
            let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let mut prefix = [0u8; 8];
            file.read_exact(&mut prefix).map_err(|_| invalid("shorter than its 8-byte header length".into()))?;
            let header_len = u64::from_le_bytes(prefix);
            // safetensors' own limit on header size.
            if header_len > 100_000_000 || 8 + header_len > file_len {
                return Err(invalid(format!("its header claims {header_len} bytes in a {file_len}-byte file")));
            }
            let mut header = vec![0u8; header_len as usize];
            file.read_exact(&mut header).map_err(|e| Error::io(path, e))?;
            let header = std::str::from_utf8(&header).map_err(|e| invalid(format!("header: {e}")))?;
            // Deserializing validates the offsets: contiguous, in order, sizes matching shapes.
            let metadata: safetensors::tensor::Metadata = serde_json::from_str(header).map_err(|e| invalid(format!("header: {e}")))?;
            let infos = metadata.tensors();
            let data_start = 8 + header_len;
            let data_len = infos.values().map(|i| i.data_offsets.1 as u64).max().unwrap_or(0);
            if data_start + data_len != file_len {
                return Err(invalid(format!("the header describes {} bytes but the file has {file_len}", data_start + data_len)));
            }
            let mut declared = BTreeMap::new();
            for (name, info) in &infos {
                let dtype = safetensors_dtype(info.dtype).ok_or_else(|| {
                    Error::weights(path, format!("tensor {name} has dtype {:?}; only floating-point weights are supported", info.dtype))
                })?;
                declared.insert(canonical_name(name), Declared { stored_name: name.clone(), shape: info.shape.clone(), dtype });
            }
            check_manifest(path, &declared, expected, unused, file_len)?;
            let mut tensors = HashMap::with_capacity(expected.len());
            for (name, _) in expected {
                let d = &declared[name];
                let info = infos[&d.stored_name];
                file.seek(SeekFrom::Start(data_start + info.data_offsets.0 as u64)).map_err(|e| Error::io(path, e))?;
                let bytes = info.data_offsets.1 - info.data_offsets.0;
                let tensor =
                    read_tensor(&mut file, bytes, d.dtype, &d.shape).map_err(|e| Error::weights(path, format!("tensor {}: {e}", d.stored_name)))?;
                tensors.insert(name.clone(), tensor);
            }
            tensors
        }
        WeightsFormat::PytorchBin => {
            // candle's reader builds whatever object tree the pickle describes: bound it first.
            super::pickle_guard::check_checkpoint(path)?;
            let infos =
                candle_core::pickle::read_pth_tensor_info(path, false, None).map_err(|e| super::pickle_guard::unreadable_checkpoint(path, e))?;
            let mut declared = BTreeMap::new();
            for info in &infos {
                let shape = info.layout.dims().to_vec();
                let numel: usize = shape.iter().product();
                if info.layout.start_offset().saturating_add(numel) > info.storage_size {
                    return Err(Error::weights(path, format!("tensor {} declares more elements than its storage holds", info.name)));
                }
                declared.insert(canonical_name(&info.name), Declared { stored_name: info.name.clone(), shape, dtype: info.dtype });
            }
            for d in declared.values() {
                if !matches!(d.dtype, DType::F32 | DType::F16 | DType::BF16 | DType::F64) {
                    return Err(Error::weights(
                        path,
                        format!("tensor {} has dtype {:?}; only floating-point weights are supported", d.stored_name, d.dtype),
                    ));
                }
            }
            check_manifest(path, &declared, expected, unused, file_len)?;
            let pth =
                candle_core::pickle::PthTensors::new(path, None).map_err(|e| Error::weights(path, format!("cannot read the checkpoint: {e}")))?;
            let mut tensors = HashMap::with_capacity(expected.len());
            for (name, _) in expected {
                let stored = &declared[name].stored_name;
                let tensor = pth
                    .get(stored)
                    .and_then(|t| t.ok_or_else(|| candle_core::Error::Msg("listed but not found".into())))
                    .and_then(|t| t.to_dtype(DType::F32))
                    .map_err(|e| Error::weights(path, format!("tensor {stored} could not be read ({e}); the file may be truncated or corrupt")))?;
                tensors.insert(name.clone(), tensor);
            }
            tensors
        }
    };
    Ok(VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu))
}

/// Reads `bytes` little-endian values of `dtype` from the file's current position into an f32
/// tensor, without an intermediate copy of the raw bytes for f32 data.
fn read_tensor(file: &mut std::fs::File, bytes: usize, dtype: DType, shape: &[usize]) -> candle_core::Result<Tensor> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file.by_ref().take(bytes as u64));
    if dtype == DType::F32 {
        let mut values = Vec::with_capacity(bytes / 4);
        let mut chunk = [0u8; 1 << 14];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(chunk.len());
            reader.read_exact(&mut chunk[..n])?;
            values.extend(chunk[..n].chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
            left -= n;
        }
        return Tensor::from_vec(values, shape, &Device::Cpu);
    }
    let mut raw = vec![0u8; bytes];
    reader.read_exact(&mut raw)?;
    Tensor::from_raw_buffer(&raw, dtype, shape, &Device::Cpu)?.to_dtype(DType::F32)
}

fn safetensors_dtype(dtype: safetensors::Dtype) -> Option<DType> {
    match dtype {
        safetensors::Dtype::F32 => Some(DType::F32),
        safetensors::Dtype::F16 => Some(DType::F16),
        safetensors::Dtype::BF16 => Some(DType::BF16),
        safetensors::Dtype::F64 => Some(DType::F64),
        _ => None,
    }
}

/// Compares the file's tensors with the model's manifest; the first problem found is the error.
fn check_manifest(
    path: &Path,
    declared: &BTreeMap<String, Declared>,
    expected: &[(String, Vec<usize>)],
    unused: &[&str],
    file_len: u64,
) -> Result<()> {
    let mut missing = Vec::new();
    let mut declared_bytes: u64 = 0;
    for (name, shape) in expected {
        match declared.get(name) {
            None => missing.push(name.as_str()),
            Some(d) if &d.shape != shape => {
                return Err(Error::weights(path, format!("tensor {} has shape {:?} but config.json implies {:?}", d.stored_name, d.shape, shape)))
            }
            Some(d) => {
                let numel = d.shape.iter().try_fold(1u64, |acc, &x| acc.checked_mul(x as u64)).unwrap_or(u64::MAX);
                declared_bytes = declared_bytes.saturating_add(numel.saturating_mul(d.dtype.size_in_bytes() as u64));
            }
        }
    }
    if let Some(first) = missing.first() {
        let more = if missing.len() > 1 { format!(" (and {} more)", missing.len() - 1) } else { String::new() };
        return Err(Error::weights(path, format!("tensor {first} is missing{more}; the file does not belong to this config.json")));
    }
    let wanted: std::collections::HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    let unexpected: Vec<&Declared> = declared
        .iter()
        .filter(|(n, d)| !wanted.contains(n.as_str()) && !unused.contains(&n.as_str()) && !is_ignored_buffer(&d.stored_name))
        .map(|(_, d)| d)
        .collect();
    if let Some(first) = unexpected.first() {
        let more = if unexpected.len() > 1 { format!(" (and {} more)", unexpected.len() - 1) } else { String::new() };
        return Err(Error::weights(
            path,
            format!("unexpected tensor {}{more}; the file does not belong to this config.json's architecture", first.stored_name),
        ));
    }
    if declared_bytes > file_len {
        return Err(Error::weights(path, format!("the file is {file_len} bytes but its tensors need {declared_bytes}; it is truncated or corrupt")));
    }
    Ok(())
}
