/** SwiGLU MLP: down_proj(silu(gate_proj(x)) * up_proj(x)). */
import * as C from '@sdxs/core';

export class Qwen35MLP extends C.Module {
  readonly gate_proj: C.nn.Linear;
  readonly up_proj: C.nn.Linear;
  readonly down_proj: C.nn.Linear;
  constructor(hidden: number, intermediate: number) {
    super();
    this.gate_proj = new C.nn.Linear(hidden, intermediate, false);
    this.up_proj = new C.nn.Linear(hidden, intermediate, false);
    this.down_proj = new C.nn.Linear(intermediate, hidden, false);
  }
  forward(x: C.Tensor): C.Tensor {
    return C.tidy(() => this.down_proj.forward(C.mul(C.silu(this.gate_proj.forward(x)), this.up_proj.forward(x))));
  }
}
