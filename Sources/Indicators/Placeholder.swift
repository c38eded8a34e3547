public enum IndicatorsPlaceholder {}
