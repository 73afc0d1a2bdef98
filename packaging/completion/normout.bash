# bash completion for normout                                  -*- shell-script -*-
_normout() {
    local cur prev words cword
    _init_completion || return
    local commands="train resume info layers presets settings config data bench attack flatness"
    if ((cword == 1)); then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    case "$prev" in
        --preset)
            COMPREPLY=($(compgen -W "$(normout presets --json 2>/dev/null | sed -n 's/^ *"name": "\(.*\)",\{0,1\}$/\1/p')" -- "$cur"))
            return ;;
        --set)
            compopt -o nospace
            COMPREPLY=($(compgen -W "$(normout settings 2>/dev/null | awk 'NF && $1 ~ /\./ {print $1"="}')" -- "$cur"))
            return ;;
        --config | --out | --archive)
            _filedir
            return ;;
        --data)
            _filedir -d
            return ;;
    esac
    case "${words[1]}" in
        train) COMPREPLY=($(compgen -W "--preset --config --set --data --out --force --max-steps --quiet --help" -- "$cur")) ;;
        resume) COMPREPLY=($(compgen -W "--data --max-steps --quiet --help" -- "$cur")); _filedir h5 ;;
        info) COMPREPLY=($(compgen -W "--json --layers --help" -- "$cur")); _filedir h5 ;;
        layers | config) COMPREPLY=($(compgen -W "--preset --config --set --data --json --help" -- "$cur")) ;;
        presets) COMPREPLY=($(compgen -W "--json --help" -- "$cur")) ;;
        data) COMPREPLY=($(compgen -W "fetch cifar10 --data --url --md5 --archive --force --keep-archive --help" -- "$cur")) ;;
        bench) COMPREPLY=($(compgen -W "--preset --config --set --data --steps --warmup --json --help" -- "$cur")) ;;
        *) _filedir h5 ;;
    esac
} && complete -F _normout normout
