"""The constructor parameters and fitted attributes of the bprop estimators, documented once
for both (numpydoc sections the classifier and the regressor put in their docstrings)."""

PARAMETERS_DOC = """\
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(32,)
        Units in each hidden layer, input side first: the middle of the size list given to
        :func:`bprop.mlp`. ``()`` gives a net with no hidden layer.
    activation : {"tanh", "sigmoid", "relu", "leaky_relu", "identity"}, default="tanh"
        The hidden layers' activation (``"logistic"`` is accepted for ``"sigmoid"``).
    loss : str, default="auto"
        What training minimises; see the class description for the choices.
    method : str, default="adam"
        The update rule, by its name in :data:`bprop.optim.methods.METHODS`: "sgd",
        "momentum", "nesterov", "rprop+", "rprop-", "irprop+", "irprop-", "quickprop",
        "bold-driver", "adagrad", "rmsprop", "adam". Adam is the default because it needs no
        tuning of its learning rate to train well on most problems in either schedule
        (scikit-learn's MLP makes the same choice); Rprop, Quickprop and the bold driver are
        the classic full-batch alternatives.
    learning_rate : float or None, default=None
        The rule's learning rate (step size); None uses the rule's published default (sgd 0.1,
        momentum/nesterov 0.05, adam 0.001, ...). Rprop has no learning rate and ignores it
        (its first step size is ``method_params={"delta0": ...}``). When training diverges
        (NaN/inf, or a loss far above its scale), ``fit`` and ``partial_fit`` raise
        :class:`bprop.TrainingDiverged` with a message that names the parameter to lower; a
        failed ``fit`` leaves no model, a failed ``partial_fit`` keeps the weights and rule
        state it started from. Data beyond the range of the float type the network trains in
        (float32 by default) is refused before training.
    momentum : float or None, default=None
        The momentum of "momentum", "nesterov" and "bold-driver" (None: 0.9, 0.9, 0); the
        other methods ignore it. For momentum with "sgd", use ``method="momentum"``.
    method_params : dict or None, default=None
        Other hyper-parameters of the rule, by name: Rprop's ``eta_plus``, ``eta_minus``,
        ``delta0``, ``delta_max``, ``delta_min``; Quickprop's ``mu``, ``decay``; the bold
        driver's ``increase``, ``decrease``, ``max_perf_inc``; RMSprop's ``rho``; Adam's
        ``beta1``, ``beta2``; ``eps``; and ``clip_norm``, ``clip_value`` and ``weight_decay``,
        which put gradient clipping or weight decay in front of any rule. A method ignores
        the names it does not read; unknown names are an error.
    lr_schedule : str or None, default=None
        A learning-rate schedule over the ``epochs`` of ``fit``, chained after the rule
        (:func:`bprop.optim.schedules.make_schedule`): "cosine" (with ``warmup`` linear
        warm-up epochs), "step" (×0.1 every third of the epochs), "exponential" (×0.95 per
        epoch), "warmup" (linear over ``warmup`` epochs), "plateau" (×0.1 after 10 epochs
        without improvement of the validation loss, or the training loss without early
        stopping) or None (constant). Not for Rprop, Quickprop and the bold driver, which set
        their own step sizes.
    warmup : int, default=0
        Warm-up epochs of the "cosine" and "warmup" schedules.
    schedule : {"auto", "online", "minibatch", "batch"}, default="auto"
        How examples become weight updates: one update per example ("online"), per shuffled
        mini-batch of ``batch_size`` ("minibatch"), or one per epoch from the whole training
        set ("batch"). "auto" is "batch" for the methods that assume full-batch gradients
        (Rprop, Quickprop, the bold driver) and "minibatch" for the others.
    batch_size : int, default=32
        Examples per update for the "minibatch" schedule (all of them if fewer).
    epochs : int, default=200
        Passes over the training data in ``fit`` (at most, with early stopping).
        ``partial_fit`` always makes one pass.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified for classes), stop
        when its loss has not improved for ``n_iter_no_change`` epochs, and keep the weights of
        the best epoch (:class:`bprop.EarlyStopping`). Not used by ``partial_fit``.
    validation_fraction : float, default=0.1
        The held-out fraction for early stopping.
    n_iter_no_change : int, default=10
        Early stopping's patience, in epochs.
    l2 : float, default=0.0
        L2 weight decay λ: adds ½λ‖W‖² over the weight matrices (not the biases) to the loss of
        every update, as the trainer's ``l2``. scikit-learn's ``alpha`` is divided by the
        batch size before it is used, so ``MLPClassifier(alpha=a, batch_size=b)`` matches
        ``l2=a / b``.
    init : str or None, default=None
        Weight initialiser of :func:`bprop.mlp` ("glorot", "glorot_normal", "he",
        "he_uniform", "uniform"); None: He for ReLU-type activations, Glorot otherwise.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and the data order (shuffles, validation split). An int
        makes ``fit`` reproducible.
    verbose : int, default=0
        1 or more shows the trainer's progress bar with the loss of every epoch.
"""

ATTRIBUTES_DOC = """\
    net_ : bprop.Sequential
        The trained network, for bprop's own tools: ``bp.save(est.net_, path)``,
        ``bp.gradcheck(est.net_, ...)``, ``est.net_.predict(X)`` (raw outputs).
    trainer_ : bprop.Trainer
        The trainer that holds the update rule's state; ``partial_fit`` continues it, and
        ``bp.save(est.trainer_, path)`` saves the model with that state.
    history_ : bprop.History
        Per-epoch training record (``train_loss``, ``val_loss``, ``train_accuracy``, ...,
        ``best_epoch``, ``stopped_because``), accumulated over ``partial_fit`` calls.
    loss_curve_ : list of float
        The training loss of every epoch (``history_.train_loss``), L2 penalty included.
    n_iter_ : int
        Epochs trained so far.
    n_outputs_ : int
        Output units of the network.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen during ``fit`` (only when ``X`` has string column names).
"""

__all__ = ["ATTRIBUTES_DOC", "PARAMETERS_DOC"]
