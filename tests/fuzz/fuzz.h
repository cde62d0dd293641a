/*
 * Shared by the libFuzzer targets in tests/fuzz/. Each target defines
 * LLVMFuzzerTestOneInput; built with clang -fsanitize=fuzzer (make fuzz) or
 * with replay_main.c (make fuzz-regress, any compiler) to replay the corpus
 * and the regression inputs.
 */
#ifndef ORC_FUZZ_H
#define ORC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#endif
