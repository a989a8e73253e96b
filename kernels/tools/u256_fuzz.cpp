// Reads triples of 256-bit numbers (four 64-bit hex limbs each, most significant first) and
// prints the results of every uint256.cuh operation; kernels/tools/u256_fuzz.py compares them with
// Python integers.
#include "uint256.cuh"
#include <stdio.h>
#include <string.h>
static U256 rd(){U256 r; for(int i=3;i>=0;i--){unsigned long long v; scanf("%llx",&v); r.w[i]=v;} return r;}
static void pr(const U256&a){printf("%016llx%016llx%016llx%016llx ",(unsigned long long)a.w[3],(unsigned long long)a.w[2],(unsigned long long)a.w[1],(unsigned long long)a.w[0]);}
int main(){int n; scanf("%d",&n); for(int k=0;k<n;k++){U256 a=rd(),b=rd(),c=rd();
pr(u256_add(a,b));pr(u256_sub(a,b));pr(u256_mul(a,b));pr(u256_div(a,b));pr(u256_mod(a,b));pr(u256_sdiv(a,b));pr(u256_smod(a,b));
pr(u256_addmod(a,b,c));pr(u256_mulmod(a,b,c));pr(u256_exp(a,b));pr(u256_shl(a,b));pr(u256_shr(a,b));pr(u256_sar(a,b));pr(u256_byte(b,a));pr(u256_signextend(b,a));
printf("%d %d %d %d\n",u256_lt(a,b),u256_slt(a,b),u256_eq(a,b),u256_sgt(a,b));}}
