#include "clgan/backend.h"

#include <string.h>

/* Indexed by clgan_activation; these are the names configs and reports use. */
static const char *const activation_names[CLGAN_ACT_COUNT] = {
    [CLGAN_ACT_IDENTITY] = "identity",     [CLGAN_ACT_RELU] = "relu",
    [CLGAN_ACT_LEAKY_RELU] = "leaky_relu", [CLGAN_ACT_TANH] = "tanh",
    [CLGAN_ACT_SIGMOID] = "sigmoid",       [CLGAN_ACT_SOFTPLUS] = "softplus",
};

const char *clgan_activation_name(clgan_activation act) {
  /* Callers print the result, so an out-of-range value still gets a string. */
  if ((unsigned)act >= CLGAN_ACT_COUNT)
    return "unknown";
  return activation_names[act];
}

clgan_activation clgan_activation_from_name(const char *name) {
  if (!name)
    return CLGAN_ACT_COUNT;
  for (int i = 0; i < CLGAN_ACT_COUNT; i++) {
    if (strcmp(name, activation_names[i]) == 0)
      return (clgan_activation)i;
  }
  return CLGAN_ACT_COUNT;
}
