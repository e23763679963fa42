"""
Writes an extra image-prompt reference case in the layout of ../shared/fixtures/qwen/qwen35-vision-tiny, from the
genuine transformers Qwen3_5ForConditionalGeneration and Qwen2VLImageProcessorPil (a venv built from the machine's
wheels: TESTING.md), with other sizes than the shared fixture: vision width 48, depth 3, 14-px patches, an 8x8
position grid, partial rotary 0.5 with mrope_section [3, 3, 2], and two images (case 'pair': one upscaled to
min_pixels, one wide, in a right-padded batch of 2 with an attention mask; case 'sequence': two images in one row).

    python tools/qwen-vision-case.py <out-dir> [pair|sequence]
    node --conditions=sdxs-source --import tsx tools/check-qwen-vision-case.ts <out-dir> [backend]
"""
import sys
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import Qwen3_5Config, Qwen3_5ForConditionalGeneration
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

out = sys.argv[1]
kind = sys.argv[2] if len(sys.argv) > 2 else 'pair'
torch.manual_seed(0)
IMAGE, START, END = 590, 591, 592
cfg = Qwen3_5Config(
    text_config=dict(hidden_size=48, intermediate_size=96, num_hidden_layers=4,
                     layer_types=['linear_attention', 'full_attention', 'linear_attention', 'full_attention'],
                     num_attention_heads=4, num_key_value_heads=2, head_dim=32, linear_num_key_heads=2, linear_num_value_heads=4,
                     linear_key_head_dim=16, linear_value_head_dim=16, vocab_size=600,
                     rope_parameters=dict(rope_type='default', rope_theta=10000.0, partial_rotary_factor=0.5, mrope_section=[3, 3, 2], mrope_interleaved=True)),
    vision_config=dict(depth=3, hidden_size=48, intermediate_size=80, num_heads=4, num_position_embeddings=64, out_hidden_size=48,
                       patch_size=14, spatial_merge_size=2, temporal_patch_size=2, hidden_act='gelu_pytorch_tanh'),
    image_token_id=IMAGE, video_token_id=593, vision_start_token_id=START, vision_end_token_id=END)
model = Qwen3_5ForConditionalGeneration(cfg).eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if 'norm' in name and p.dim() == 1 and 'visual' not in name:
            p.normal_(0, 0.1)
        else:
            p.normal_(0, 0.3 if 'pos_embed' in name else 0.08)
model.save_pretrained(out, safe_serialization=True)
proc = Qwen2VLImageProcessorPil(patch_size=14, merge_size=2, temporal_patch_size=2, size={'shortest_edge': 56 * 56 * 2, 'longest_edge': 28 * 28 * 60})
proc.save_pretrained(out)
photo = Image.open('../shared/images/chelsea.png').convert('RGB')
if kind == 'pair':
    imgs = [photo.resize((40, 30), Image.BILINEAR), photo.resize((300, 60), Image.BILINEAR)]
else:
    imgs = [photo.resize((90, 230), Image.BILINEAR), Image.open('../shared/images/coffee.png').convert('RGB')]
for i, im in enumerate(imgs):
    im.save(f'{out}/img{i}.png')
pp = proc(images=imgs, return_tensors='pt')
pv, grid = pp['pixel_values'], pp['image_grid_thw']
run = lambda g: [START] + [IMAGE] * (g[0] * g[1] * g[2] // 4) + [END]
if kind == 'pair':
    rows = [[5, 17, 33] + run(g) + [40, 41] + ([7, 9, 11, 12, 13] if k == 0 else [8]) for k, g in enumerate(grid.tolist())]
else:
    rows = [[5, 17, 33] + run(grid[0].tolist()) + [40, 41] + run(grid[1].tolist()) + [7, 9, 11]]
L = max(len(r) for r in rows)
mask = torch.tensor([[1] * len(r) + [0] * (L - len(r)) for r in rows])
input_ids = torch.tensor([r + [0] * (L - len(r)) for r in rows])
mm = (input_ids == IMAGE).int()
with torch.no_grad():
    vis = model.model.visual(pv, grid_thw=grid)
    o = model.model(input_ids=input_ids, attention_mask=mask, pixel_values=pv, image_grid_thw=grid, mm_token_type_ids=mm, output_hidden_states=True)
    pos, _ = model.model.get_rope_index(input_ids, mm_token_type_ids=mm, image_grid_thw=grid, attention_mask=mask)
save_file({'pixel_values': pv.float().contiguous(), 'image_grid_thw': grid.int().contiguous(), 'input_ids': input_ids.int(), 'attention_mask': mask.float(),
           'position_ids': pos.int().contiguous(), 'vision_last_hidden_state': vis.last_hidden_state.contiguous(),
           'image_embeds': vis.pooler_output.contiguous(), 'hidden_states_penultimate': o.hidden_states[-2].contiguous()}, f'{out}/io.safetensors')
print(f'{out}: grids {grid.tolist()}, {len(rows)} row(s) of {L} tokens')
