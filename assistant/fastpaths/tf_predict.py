"""DIET's TensorFlow function called directly (fast path `tf_predict`).

The polymorphic `tf.function` re-checks its inputs against its signature on every call; its one
concrete function (the signature is fixed) is called directly, with the batch flattened and
converted here (`FlatCall`).
"""

from __future__ import annotations

from typing import Any


class FlatCall:
    """A concrete TensorFlow function called with its inputs flattened and converted here.

    Calling it with the structured batch makes TensorFlow flatten the batch against the input
    signature, convert each array and check structure and types again on every call; here the
    signature is flattened once and each array converted as TensorFlow converts it
    (`convert_to_tensor` with the spec's dtype as hint). Inputs that do not fit the signature
    exactly go through the structured call, with TensorFlow's errors."""

    def __init__(self, concrete: Any) -> None:
        import numpy as np
        import tensorflow as tf

        self.concrete, self.tf, self.ndarray = concrete, tf, np.ndarray
        specs = tf.nest.flatten(concrete.structured_input_signature, expand_composites=True)
        self.specs = specs if all(isinstance(s, tf.TensorSpec) for s in specs) else None

    def __call__(self, batch_in: Any) -> Any:
        tf, specs = self.tf, self.specs
        values = tf.nest.flatten(((batch_in,), {}), expand_composites=True)
        if (
            specs is not None
            and len(values) == len(specs)
            and all(isinstance(v, self.ndarray) for v in values)
        ):
            tensors = [
                tf.convert_to_tensor(value, dtype_hint=spec.dtype)
                for value, spec in zip(values, specs, strict=True)
            ]
            if all(spec.is_compatible_with(t) for t, spec in zip(tensors, specs, strict=True)):
                return self.concrete._call_flat(tensors, self.concrete.captured_inputs)
        return self.concrete(batch_in)


def install() -> None:
    from rasa.utils.tensorflow import models

    rasa_predict = models.RasaModel._rasa_predict

    def _rasa_predict(self: Any, batch_in: Any) -> dict[str, Any]:
        concrete = self.__dict__.get("_fastpaths_concrete")
        if concrete is None:
            outputs = rasa_predict(self, batch_in)  # prepares the model, builds the tf.function
            if self._tf_predict_step is not None and not self._run_eagerly:
                # not through setattr: Keras would track it as part of the model
                self.__dict__["_fastpaths_concrete"] = FlatCall(
                    self._tf_predict_step.get_concrete_function()
                )
            return outputs
        outputs = models.tf_utils.sync_to_numpy_or_python_type(concrete(batch_in))
        if models.DIAGNOSTIC_DATA in outputs:
            outputs[models.DIAGNOSTIC_DATA] = self._empty_lists_to_none_in_dict(
                outputs[models.DIAGNOSTIC_DATA]
            )
        return outputs

    models.RasaModel._rasa_predict = _rasa_predict
