/* fuse_qdq.h — QDQ fusion at session preparation (see fuse_qdq.c). */
#ifndef OQ_FUSE_QDQ_H
#define OQ_FUSE_QDQ_H

#include "onnxq/model.h"
#include "onnxq/runtime.h"

/* If *model holds QDQ patterns onnxq runs as integer ops, makes a fused
 * private copy, stores it in *fused (the session owns and destroys it) and
 * points *model at it; otherwise leaves both alone (*fused NULL).  Nothing
 * is fused when opts has an observer (it must see every tensor the model
 * names) or when the environment sets ONNXQ_NO_QDQ_FUSION=1.  The caller's
 * model is never modified. */
onnxq_status oq_fuse_qdq(onnxq_model **model, onnxq_model **fused,
                         const onnxq_session_options *opts, onnxq_error *err);

#endif
