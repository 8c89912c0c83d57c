#compdef seis

_seis_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _SEIS_COMPLETE=complete_zsh seis)
}

compdef _seis_completion seis
