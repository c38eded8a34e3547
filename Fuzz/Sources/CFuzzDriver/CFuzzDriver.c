// The declaration in include/ is all this target is; libFuzzer defines the function.
#include "CFuzzDriver.h"
