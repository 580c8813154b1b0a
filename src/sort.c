#include <stdlib.h>
#include "sort.h"

#define FP_K uint32_t
#define FP_KS u32
#include "sort_tmpl.h"
#undef FP_K
#undef FP_KS

#define FP_K uint64_t
#define FP_KS u64
#include "sort_tmpl.h"
#undef FP_K
#undef FP_KS
