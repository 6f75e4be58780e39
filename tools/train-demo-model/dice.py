"""The reference benchmark's Dice metrics and the IntelAI 2D training loss."""

import numpy as np
import torch
import torch.nn.functional as F


def calc_dice(target, prediction, smooth=0.01):
    """Sorensen Dice over everything given, predictions rounded (the reference benchmark's calc_dice)."""
    prediction = np.round(prediction)
    return float((2.0 * np.sum(target * prediction) + smooth) / (np.sum(target) + np.sum(prediction) + smooth))


def calc_soft_dice(target, prediction, smooth=0.01):
    """Soft Dice: the same without rounding (the reference benchmark's calc_soft_dice)."""
    return float((2.0 * np.sum(target * prediction) + smooth) / (np.sum(target) + np.sum(prediction) + smooth))


def dice_log_loss(target, prediction, smooth=1e-4):
    """IntelAI dice_coef_loss: -log(2 * mean(intersection)) + log(mean(|T| + |P|)), sums per image."""
    axes = tuple(range(1, target.dim()))
    intersection = (prediction * target).sum(dim=axes)
    total = target.sum(dim=axes) + prediction.sum(dim=axes)
    numerator = (intersection + smooth).mean()
    denominator = (total + smooth).mean()
    return -torch.log(2.0 * numerator) + torch.log(denominator)


def combined_loss(target, prediction, dice_weight=0.9):
    """IntelAI combined_dice_ce_loss: weight * (-log soft Dice) + (1 - weight) * binary cross-entropy."""
    bce = F.binary_cross_entropy(prediction.clamp(1e-7, 1 - 1e-7), target)
    return dice_weight * dice_log_loss(target, prediction) + (1.0 - dice_weight) * bce
