/**
 * Qwen3.5-2B text config. Layer count, widths and vocabulary are SPEC.md's; the head counts follow the
 * Qwen3.5 family layout (8 q / 2 kv heads of 256, 16 DeltaNet heads of 128) and are assumptions until
 * checked against the released config.json.
 */
export const QWEN35_2B = {
  model_type: 'qwen3_5_text',
  vocab_size: 248320,
  hidden_size: 2048,
  intermediate_size: 6144,
  num_hidden_layers: 24,
  layer_types: Array.from({ length: 24 }, (_, i) => ((i + 1) % 4 === 0 ? 'full_attention' : 'linear_attention')),
  num_attention_heads: 8,
  num_key_value_heads: 2,
  head_dim: 256,
  linear_num_key_heads: 16,
  linear_num_value_heads: 16,
  linear_key_head_dim: 128,
  linear_value_head_dim: 128,
  linear_conv_kernel_dim: 4,
  rms_norm_eps: 1e-6,
  rope_parameters: { rope_type: 'default', rope_theta: 1e7, partial_rotary_factor: 0.25 },
  tie_word_embeddings: true,
};
