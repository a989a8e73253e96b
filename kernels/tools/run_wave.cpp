// Runs every transaction of a wave dumped by kernels/tools/profile.py (LANES_DUMP_WAVE=path),
// with one reused scratch slot, so that a tool like `valgrind --tool=callgrind` can count the
// host build's instructions per transaction:
//   g++ -std=c++17 -O2 -I kernels kernels/tools/run_wave.cpp -o /tmp/run_wave
//   valgrind --tool=callgrind /tmp/run_wave /tmp/wave.bin
#include <stdio.h>
#include <stdlib.h>
#include "evm.cuh"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: run_wave WAVE_FILE\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (!f) return 1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t* wave = (uint8_t*)aligned_alloc(64, (n + 63) / 64 * 64);
  if (fread(wave, 1, n, f) != (size_t)n) return 1;
  fclose(f);
  const LanesWave* w = (const LanesWave*)wave;
  uint8_t* out = (uint8_t*)calloc(w->tx_count, w->out_stride);
  uint8_t* scratch = (uint8_t*)aligned_alloc(64, w->scratch_stride);
  uint32_t ok = 0;
  for (uint32_t i = 0; i < w->tx_count; i++) {
    lanes_execute_tx(w, i, out, scratch - (uint64_t)i * w->scratch_stride);
    ok += ((LanesTxOutput*)(out + (uint64_t)i * w->out_stride))->status == LANES_STATUS_SUCCESS;
  }
  printf("%u of %u succeeded\n", ok, w->tx_count);
  return 0;
}
