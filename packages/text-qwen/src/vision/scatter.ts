/**
 * The reference's placeholder scatter (`inputs_embeds.masked_scatter(image_mask, image_embeds)`): image features
 * replace the embeddings of the image placeholder tokens, in order. Done as one gather from [text rows; image
 * rows] so that every backend, compiled ones included, does it inside the graph.
 */
import * as C from '@sdxs/core';
import type { Qwen35Embedding } from '../model/embedding.js';

export function scatterImageFeatures(embed: Qwen35Embedding, inputIds: readonly (readonly number[])[], imageEmbeds: C.Tensor, imageTokenId: number): C.Tensor {
  const b = inputIds.length;
  const s = inputIds[0]?.length ?? 0;
  const d = embed.dim;
  if (imageEmbeds.rank !== 2 || imageEmbeds.shape[1] !== d) throw new C.ShapeError(`image features ${JSON.stringify(imageEmbeds.shape)} must be [tokens, ${d}]`);
  const m = imageEmbeds.shape[0]!;
  const index = new Int32Array(b * s);
  let k = 0;
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < s; j++) index[i * s + j] = inputIds[i]![j] === imageTokenId ? b * s + k++ : i * s + j;
  }
  if (k !== m) throw new C.InputError(`image features and image tokens do not match: ${k} placeholder tokens, ${m} features`);
  return C.tidy(() => {
    const text = C.reshape(embed.forward(inputIds), [b * s, d]);
    const rows = C.concat([text, imageEmbeds], 0);
    return C.reshape(C.gather(rows, C.tensor(index, [b * s], 'int32'), 0), [b, s, d]);
  });
}
