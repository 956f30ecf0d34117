//! Floor 1, the engine: model files in, numbers out. It finds a model's files ([`hub`]), builds
//! its tokenizer ([`tokenize`]), loads and runs the network ([`model`]), and turns outputs into
//! the discriminator's token scores ([`inspect`], [`scan`]), zero-shot results ([`zeroshot`]) and
//! sentence vectors ([`embed`], with sentence-transformers folders' pooling from [`sentence`]), and
//! scores texts for word attributions ([`explain`]). It never touches a project file: the store is its sibling.

pub mod classify;
pub mod embed;
pub mod explain;
pub mod finetune;
pub mod hub;
pub mod inspect;
pub mod model;
pub mod scan;
pub mod sentence;
pub mod tag;
pub mod tokenize;
pub mod zeroshot;
