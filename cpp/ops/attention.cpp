// Op family 'attention': filled in by its own issue.
#include "ops/registry.h"

namespace tfjs_infer {

void register_attention_ops(OpRegistry& /*r*/) {}

}  // namespace tfjs_infer
