/*
 * dnnl_common.c — engine and stream per prepared node, the fallback to the
 * reference kernel, OpenMP thread scoping, reorders, and the counters of
 * dnnl_stats.h.
 */
#include <stdatomic.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "dnnl_common.h"
#include "registry.h"

/* ---- counters ------------------------------------------------------------ */

static atomic_size_t n_fast, n_fallback, n_plans, n_packs, n_reorders,
    n_blocked_in;
static atomic_int handoff_off;

oq_dnnl_stats oq_dnnl_stats_get(void)
{
    oq_dnnl_stats s = {atomic_load(&n_fast), atomic_load(&n_fallback),
                       atomic_load(&n_plans), atomic_load(&n_packs),
                       atomic_load(&n_reorders), atomic_load(&n_blocked_in)};
    return s;
}

void oq_dnnl_set_blocked_handoff(int on) { atomic_store(&handoff_off, !on); }
int oq_dnnl_blocked_handoff(void) { return !atomic_load(&handoff_off); }
void oq_dnnl_count_reorder(void) { atomic_fetch_add(&n_reorders, 1); }
void oq_dnnl_count_blocked_in(void) { atomic_fetch_add(&n_blocked_in, 1); }

void oq_dnnl_count_fast(void) { atomic_fetch_add(&n_fast, 1); }
void oq_dnnl_count_plan(void) { atomic_fetch_add(&n_plans, 1); }
void oq_dnnl_count_pack(void) { atomic_fetch_add(&n_packs, 1); }

/* ---- engine, stream, fallback -------------------------------------------- */

onnxq_status oq_dnnl_init(oq_dnnl *d, const oq_prepare_ctx *p)
{
    memset(d, 0, sizeof *d);
    const char *domain = p->node->domain ? p->node->domain : "";
    int cf;
    d->ref = oq_find_kernel(domain, p->node->op_type, p->opset, &cf);
    if (!d->ref || !d->ref->run)
        return ONNXQ_ERR_UNSUPPORTED; /* no fallback: let the executor decide */
    dnnl_status_t s = dnnl_engine_create(&d->engine, dnnl_cpu, 0);
    if (s == dnnl_success)
        s = dnnl_stream_create(&d->stream, d->engine, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        oq_dnnl_clear(d);
        return s == dnnl_out_of_memory
                   ? onnxq_error_set(p->err, ONNXQ_ERR_OUT_OF_MEMORY,
                                     "out of memory (oneDNN engine)")
                   : ONNXQ_ERR_UNSUPPORTED;
    }
    return ONNXQ_OK;
}

void oq_dnnl_clear(oq_dnnl *d)
{
    if (d->stream)
        dnnl_stream_destroy(d->stream);
    if (d->engine)
        dnnl_engine_destroy(d->engine);
    d->stream = NULL;
    d->engine = NULL;
}

onnxq_status oq_dnnl_fallback(const oq_dnnl *d, oq_kctx *ctx)
{
    atomic_fetch_add(&n_fallback, 1);
    return d->ref->run(ctx);
}

onnxq_status oq_dnnl_failed(const oq_dnnl *d, oq_kctx *ctx, dnnl_status_t s,
                            const char *what)
{
    if (s == dnnl_out_of_memory)
        return oq_kfail(ctx, ONNXQ_ERR_OUT_OF_MEMORY, "out of memory (oneDNN %s)",
                        what);
    return oq_dnnl_fallback(d, ctx);
}

/* ---- threads ------------------------------------------------------------- */

int oq_dnnl_threads_enter(int n)
{
#ifdef _OPENMP
    int saved = omp_get_max_threads();
    if (n <= 0 || n == saved)
        return 0;
    omp_set_num_threads(n);
    return saved;
#else
    (void)n;
    return 0;
#endif
}

void oq_dnnl_threads_leave(int saved)
{
#ifdef _OPENMP
    if (saved > 0)
        omp_set_num_threads(saved);
#else
    (void)saved;
#endif
}

int oq_dnnl_threads_effective(int n)
{
#ifdef _OPENMP
    return n > 0 ? n : omp_get_max_threads();
#else
    (void)n;
    return 1;
#endif
}

/* ---- memory and reorders ------------------------------------------------- */

dnnl_status_t oq_dnnl_md_plain(dnnl_memory_desc_t *md, int rank,
                               const int64_t *dims)
{
    dnnl_dims_t dd, strides;
    int64_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        dd[i] = dims[i];
        strides[i] = s;
        s *= dims[i];
    }
    return dnnl_memory_desc_init_by_strides(md, rank, dd, dnnl_f32, strides);
}

dnnl_status_t oq_dnnl_memory(dnnl_memory_t *mem, const oq_dnnl *d,
                             const dnnl_memory_desc_t *md, int allocate)
{
    return dnnl_memory_create(mem, md, d->engine,
                              allocate ? DNNL_MEMORY_ALLOCATE : DNNL_MEMORY_NONE);
}

dnnl_status_t oq_dnnl_bind(dnnl_memory_t mem, const void *buf)
{
    return dnnl_memory_set_data_handle(mem, (void *)buf);
}

dnnl_status_t oq_dnnl_reorder_make(oq_dnnl_reorder *r, const oq_dnnl *d,
                                   const dnnl_memory_desc_t *src_md,
                                   const dnnl_memory_desc_t *dst_md)
{
    memset(r, 0, sizeof *r);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, src_md, d->engine,
                                                         dst_md, d->engine, NULL);
    if (s == dnnl_success)
        s = dnnl_primitive_create(&r->prim, pd);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (s == dnnl_success)
        s = oq_dnnl_memory(&r->src, d, src_md, 0);
    if (s == dnnl_success)
        s = oq_dnnl_memory(&r->dst, d, dst_md, 0);
    if (s != dnnl_success)
        oq_dnnl_reorder_clear(r);
    return s;
}

dnnl_status_t oq_dnnl_reorder_run(oq_dnnl_reorder *r, const oq_dnnl *d,
                                  const void *src, void *dst)
{
    dnnl_status_t s = oq_dnnl_bind(r->src, src);
    if (s == dnnl_success)
        s = oq_dnnl_bind(r->dst, dst);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, r->src}, {DNNL_ARG_TO, r->dst}};
    if (s == dnnl_success)
        s = dnnl_primitive_execute(r->prim, d->stream, 2, args);
    return s;
}

void oq_dnnl_reorder_clear(oq_dnnl_reorder *r)
{
    if (r->prim)
        dnnl_primitive_destroy(r->prim);
    if (r->src)
        dnnl_memory_destroy(r->src);
    if (r->dst)
        dnnl_memory_destroy(r->dst);
    memset(r, 0, sizeof *r);
}

int oq_dnnl_nonempty(const oq_tensor *t)
{
    for (int i = 0; i < t->rank; i++)
        if (t->dims[i] <= 0)
            return 0;
    return 1;
}
