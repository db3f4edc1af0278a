/*
 * int8_dnnl_probe.c — why onnxq's int8 kernels do not use oneDNN on this
 * machine: oneDNN 2.6's int8 matmul (gemm:jit) and convolution
 * (jit_uni_int8:avx2) on an AVX2 CPU without VNNI, fed constant data whose
 * exact int32 sum is known, print what they return next to the exact value.
 * Measured here (AMD EPYC, AVX2): u8 x s8 255 x 127 over K = 64 gives
 * 1048544 instead of 2072640 (pairs of products saturate at int16), s8 x s8
 * 127 x 127 gives 8160 instead of 1032256; only u8 x s8 with |w| <= 64 is
 * exact.  Not a test: a record of the hardware/library behaviour.
 *
 * build: cc -O1 bench/int8_dnnl_probe.c -o /tmp/probe -ldnnl && /tmp/probe
 */
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#define CK(x) do{dnnl_status_t s_=(x); if(s_){printf("fail %s: %d\n",#x,s_);return 1;}}while(0)
static dnnl_engine_t eng; static dnnl_stream_t str;
static int mm(dnnl_data_type_t st, int K, int sv, int wv) {
  dnnl_memory_desc_t a,b,c; dnnl_dims_t ad={1,K}, bd={K,8}, cd={1,8};
  CK(dnnl_memory_desc_init_by_tag(&a,2,ad,st,dnnl_ab));
  CK(dnnl_memory_desc_init_by_tag(&b,2,bd,dnnl_s8,dnnl_ab));
  CK(dnnl_memory_desc_init_by_tag(&c,2,cd,dnnl_s32,dnnl_ab));
  dnnl_matmul_desc_t d; CK(dnnl_matmul_desc_init(&d,&a,&b,NULL,&c));
  dnnl_primitive_desc_t pd; CK(dnnl_primitive_desc_create(&pd,&d,NULL,eng,NULL));
  const char*impl; dnnl_primitive_desc_query(pd,dnnl_query_impl_info_str,0,&impl);
  dnnl_primitive_t p; CK(dnnl_primitive_create(&p,pd));
  uint8_t A[4096]; int8_t B[4096*8]; int32_t C[8];
  for(int i=0;i<K;i++) A[i]=(uint8_t)sv;
  for(int i=0;i<K*8;i++) B[i]=(int8_t)wv;
  dnnl_memory_t ma,mb,mc; CK(dnnl_memory_create(&ma,&a,eng,A));CK(dnnl_memory_create(&mb,&b,eng,B));CK(dnnl_memory_create(&mc,&c,eng,C));
  dnnl_exec_arg_t args[3]={{DNNL_ARG_SRC,ma},{DNNL_ARG_WEIGHTS,mb},{DNNL_ARG_DST,mc}};
  CK(dnnl_primitive_execute(p,str,3,args)); dnnl_stream_wait(str);
  long exp = (long)K*(st==dnnl_u8?(uint8_t)sv:(int8_t)sv)*wv;
  printf("matmul %s K=%d src=%d w=%d: got %d expect %ld  [%s]\n", st==dnnl_u8?"u8s8":"s8s8",K,st==dnnl_u8?(uint8_t)sv:(int8_t)sv,wv,C[0],exp,impl);
  return 0;
}
static int cv(dnnl_data_type_t st, int C, int sv, int wv) {
  dnnl_memory_desc_t a,b,c,aa,ba,ca; dnnl_dims_t ad={1,C,4,4}, bd={16,C,3,3}, cd={1,16,2,2};
  CK(dnnl_memory_desc_init_by_tag(&a,4,ad,st,dnnl_nhwc));
  CK(dnnl_memory_desc_init_by_tag(&b,4,bd,dnnl_s8,dnnl_oihw));
  CK(dnnl_memory_desc_init_by_tag(&c,4,cd,dnnl_s32,dnnl_nhwc));
  CK(dnnl_memory_desc_init_by_tag(&ba,4,bd,dnnl_s8,dnnl_format_tag_any));
  dnnl_dims_t s={1,1}, z={0,0};
  dnnl_convolution_desc_t d; CK(dnnl_convolution_forward_desc_init(&d,dnnl_forward_inference,dnnl_convolution_direct,&a,&ba,NULL,&c,s,z,z));
  dnnl_primitive_desc_t pd; CK(dnnl_primitive_desc_create(&pd,&d,NULL,eng,NULL));
  const char*impl; dnnl_primitive_desc_query(pd,dnnl_query_impl_info_str,0,&impl);
  const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd,dnnl_query_weights_md,0);
  dnnl_primitive_t p; CK(dnnl_primitive_create(&p,pd));
  static uint8_t A[16*4096]; static int8_t B[16*4096*9]; static int8_t Bp[16*4096*9*2]; static int32_t Y[64];
  for(int i=0;i<C*16;i++) A[i]=(uint8_t)sv;
  for(int i=0;i<16*C*9;i++) B[i]=(int8_t)wv;
  dnnl_memory_t mb0,mbp; CK(dnnl_memory_create(&mb0,&b,eng,B)); CK(dnnl_memory_create(&mbp,wmd,eng,Bp));
  dnnl_primitive_desc_t rpd; CK(dnnl_reorder_primitive_desc_create(&rpd,&b,eng,wmd,eng,NULL)); dnnl_primitive_t r; CK(dnnl_primitive_create(&r,rpd));
  dnnl_exec_arg_t ra[2]={{DNNL_ARG_FROM,mb0},{DNNL_ARG_TO,mbp}}; CK(dnnl_primitive_execute(r,str,2,ra));
  dnnl_memory_t ma,mc; CK(dnnl_memory_create(&ma,&a,eng,A));CK(dnnl_memory_create(&mc,&c,eng,Y));
  dnnl_exec_arg_t args[3]={{DNNL_ARG_SRC,ma},{DNNL_ARG_WEIGHTS,mbp},{DNNL_ARG_DST,mc}};
  CK(dnnl_primitive_execute(p,str,3,args)); dnnl_stream_wait(str);
  long exp = (long)C*9*(st==dnnl_u8?(uint8_t)sv:(int8_t)sv)*wv;
  printf("conv %s C=%d src=%d w=%d: got %d expect %ld  [%s]\n", st==dnnl_u8?"u8s8":"s8s8",C,st==dnnl_u8?(uint8_t)sv:(int8_t)sv,wv,Y[0],exp,impl);
  (void)aa;(void)ca; return 0;
}
int main(){ CK(dnnl_engine_create(&eng,dnnl_cpu,0)); CK(dnnl_stream_create(&str,eng,dnnl_stream_default_flags));
  mm(dnnl_u8,64,255,127); mm(dnnl_u8,64,255,-128); mm(dnnl_s8,64,-128,-128); mm(dnnl_s8,64,127,127); mm(dnnl_u8,1024,255,-128);
  cv(dnnl_u8,64,255,127); cv(dnnl_u8,64,255,-128); cv(dnnl_s8,64,-128,-128); cv(dnnl_s8,64,127,127);cv(dnnl_s8,64,127,-127); cv(dnnl_u8,64,255,64);
  return 0; }
